import { describe, expect, it } from "vitest";
import { ConfigError, parseVerifierArgs, VERIFIER_FLAGS, verifierHelp } from "../../src/verifier/config.ts";

const proxy = ["--mode", "proxy", "--upstream", "http://127.0.0.1:8081", "--tenant", "acme", "--bundle-file", "/etc/keyward", "--bundle-trust-file", "/etc/keyward-trust"];

function refusal(argv: string[], env: Record<string, string> = {}): ConfigError {
  try {
    parseVerifierArgs(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("the arguments were accepted");
}

describe("parseVerifierArgs", () => {
  it("reads a proxy configuration and fills in the defaults", () => {
    const c = parseVerifierArgs(proxy, {});
    expect(c.mode).toBe("proxy");
    expect(c.upstream?.origin).toBe("http://127.0.0.1:8081");
    expect(c.tenant).toBe("acme");
    expect(c.bundle).toEqual({ kind: "file", path: "/etc/keyward", pollIntervalMs: 10_000 });
    expect(c.listen).toEqual({ host: "0.0.0.0", port: 8080 });
    expect(c.metricsListen).toEqual({ host: "0.0.0.0", port: 9090 });
    expect(c.maxBundleAgeMs).toBeNull();
    expect(c.trust).toEqual({ kind: "file", path: "/etc/keyward-trust", pollIntervalMs: 10_000 });
    expect(c.maxSignatureAgeMs).toBe(168 * 3_600_000);
    expect(c.forwardAuthorization).toBe(false);
    expect(c.leewaySeconds).toBe(30);
    expect(c.decisionLogSample).toBe(0.01);
  });

  it("takes every flag from its environment variable, the flag winning over the variable", () => {
    const env = {
      KEYWARD_VERIFIER_MODE: "authz",
      KEYWARD_VERIFIER_LISTEN: "127.0.0.1:7000",
      KEYWARD_VERIFIER_BUNDLE_CONFIGMAP: "acme/keyward-bundle",
      KEYWARD_VERIFIER_MAX_BUNDLE_AGE: "10m",
      KEYWARD_VERIFIER_FORWARD_AUTHORIZATION: "true",
      KEYWARD_VERIFIER_LEEWAY: "5s",
      KEYWARD_VERIFIER_DECISION_LOG_SAMPLE: "0.5",
      KEYWARD_VERIFIER_METRICS_LISTEN: "off",
      POD_NAMESPACE: "acme",
    };
    const c = parseVerifierArgs(["--listen", "127.0.0.1:7001"], env);
    expect(c.mode).toBe("authz");
    expect(c.listen).toEqual({ host: "127.0.0.1", port: 7001 });
    expect(c.tenant).toBe("acme");
    expect(c.bundle).toEqual({ kind: "configmap", namespace: "acme", name: "keyward-bundle", kubeconfig: null });
    expect(c.maxBundleAgeMs).toBe(600_000);
    expect(c.trust).toEqual({ kind: "configmap", namespace: "keyward-system", name: "keyward-bundle-trust", kubeconfig: null });
    expect(c.forwardAuthorization).toBe(true);
    expect(c.leewaySeconds).toBe(5);
    expect(c.decisionLogSample).toBe(0.5);
    expect(c.metricsListen).toBeNull();
  });

  it("accepts tokens with the shared issuer for 30 days after iat by default, or as --shared-issuer-window says", () => {
    expect(parseVerifierArgs(proxy, {}).sharedIssuerWindowSeconds).toBe(30 * 86_400);
    expect(parseVerifierArgs([...proxy, "--shared-issuer-window", "0"], {}).sharedIssuerWindowSeconds).toBe(0);
    expect(parseVerifierArgs(proxy, { KEYWARD_VERIFIER_SHARED_ISSUER_WINDOW: "24h" }).sharedIssuerWindowSeconds).toBe(86_400);
    expect(refusal([...proxy, "--shared-issuer-window", "87601h"]).flag).toBe("--shared-issuer-window");
    expect(refusal([...proxy, "--shared-issuer-window", "1500ms"]).message).toContain("whole seconds");
  });

  it("names a variable for every flag and documents each in --help", () => {
    const help = verifierHelp();
    for (const f of VERIFIER_FLAGS) {
      expect(f.env).toBe(`KEYWARD_VERIFIER_${f.name.toUpperCase().replaceAll("-", "_")}`);
      expect(help).toContain(`--${f.name}`);
      expect(help).toContain(`[${f.env}]`);
    }
  });

  it("defaults the tenant to POD_NAMESPACE", () => {
    const withoutTenant = proxy.filter((_, i) => i !== 4 && i !== 5);
    expect(parseVerifierArgs(withoutTenant, { POD_NAMESPACE: "sandbox" }).tenant).toBe("sandbox");
    expect(refusal(withoutTenant).flag).toBe("--tenant");
  });

  it("names the unknown flag", () => {
    const e = refusal([...proxy, "--upstrem", "x"]);
    expect(e.flag).toBe("--upstrem");
    expect(e.message).toContain("--upstrem");
  });

  it("names the flag whose value is missing", () => {
    expect(refusal([...proxy, "--listen"]).flag).toBe("--listen");
  });

  it("refuses each bad value with the flag at fault", () => {
    const cases: [string[], string][] = [
      [[...proxy, "--mode", "sidecar"], "--mode"],
      [[...proxy, "--listen", "8080"], "--listen"],
      [[...proxy, "--listen", "host:99999"], "--listen"],
      [[...proxy, "--upstream", "https://svc"], "--upstream"],
      [[...proxy, "--upstream", "http://svc:80/prefix"], "--upstream"],
      [[...proxy, "--upstream", "not a url"], "--upstream"],
      [[...proxy, "--tenant", "Acme_Corp"], "--tenant"],
      [[...proxy, "--bundle-configmap", "acme/keyward-bundle"], "--bundle-configmap"],
      [[...proxy, "--max-bundle-age", "ten minutes"], "--max-bundle-age"],
      [[...proxy, "--leeway", "1h"], "--leeway"],
      [[...proxy, "--max-header-bytes", "12k"], "--max-header-bytes"],
      [[...proxy, "--max-connections", "0"], "--max-connections"],
      [[...proxy, "--request-timeout", "0s"], "--request-timeout"],
      [[...proxy, "--log-level", "loud"], "--log-level"],
      [[...proxy, "--decision-log-sample", "2"], "--decision-log-sample"],
      [[...proxy, "--decision-log-sample", ""], "--decision-log-sample"],
      [[...proxy, "--authz-path-prefix", "authz/"], "--authz-path-prefix"],
      [[...proxy, "--metrics-listen", "0.0.0.0:8080"], "--metrics-listen"],
      [[...proxy, "extra"], "extra"],
    ];
    for (const [argv, flag] of cases) expect(refusal(argv).flag, argv.slice(proxy.length).join(" ")).toBe(flag);
  });

  it("needs --upstream in proxy mode and refuses it in authz mode", () => {
    expect(refusal(["--mode", "proxy", "--tenant", "acme", "--bundle-file", "/b", "--bundle-trust-file", "/t"]).flag).toBe("--upstream");
    expect(refusal(["--mode", "authz", "--tenant", "acme", "--bundle-file", "/b", "--bundle-trust-file", "/t", "--upstream", "http://127.0.0.1:1"]).flag).toBe("--upstream");
  });

  it("serves gRPC ext_authz only when --grpc-listen is set, only in authz mode, and never on another server's address", () => {
    const authz = ["--mode", "authz", "--tenant", "acme", "--bundle-file", "/b", "--bundle-trust-file", "/t"];
    expect(parseVerifierArgs(authz, {}).grpcListen).toBeNull();
    expect(parseVerifierArgs([...authz, "--grpc-listen", "0.0.0.0:9191"], {}).grpcListen).toEqual({ host: "0.0.0.0", port: 9191 });
    const outsideAuthz = refusal([...proxy, "--grpc-listen", "0.0.0.0:9191"]);
    expect(outsideAuthz.flag).toBe("--grpc-listen");
    expect(outsideAuthz.message).toMatch(/--mode authz/);
    expect(refusal([...authz, "--grpc-listen", "0.0.0.0:8080"]).flag).toBe("--grpc-listen");
    expect(refusal([...authz, "--grpc-listen", "0.0.0.0:9090"]).message).toMatch(/--metrics-listen/);
  });

  it("needs exactly one bundle source", () => {
    expect(refusal(["--mode", "authz", "--tenant", "acme"]).flag).toBe("--bundle-file");
    expect(refusal(["--mode", "authz", "--tenant", "acme", "--bundle-configmap", "acme"]).flag).toBe("--bundle-configmap");
  });

  it("checks signatures by default: the trust ConfigMap in keyward-system with --bundle-configmap, a trust source required with --bundle-file", () => {
    const cm = ["--mode", "authz", "--tenant", "acme", "--bundle-configmap", "acme/keyward-bundle"];
    expect(parseVerifierArgs(cm, {}).trust).toEqual({ kind: "configmap", namespace: "keyward-system", name: "keyward-bundle-trust", kubeconfig: null });
    expect(parseVerifierArgs([...cm, "--bundle-trust-configmap", "kw/trust"], {}).trust).toMatchObject({ kind: "configmap", namespace: "kw", name: "trust" });
    const file = ["--mode", "authz", "--tenant", "acme", "--bundle-file", "/b"];
    const missing = refusal(file);
    expect(missing.flag).toBe("--bundle-trust-file");
    expect(missing.message).toContain("--bundle-trust-configmap keyward-system/keyward-bundle-trust");
    expect(parseVerifierArgs([...file, "--bundle-trust-configmap", "keyward-system/keyward-bundle-trust"], {}).trust.kind).toBe("configmap");
    expect(refusal([...file, "--bundle-trust-file", "/t", "--bundle-trust-configmap", "a/b"]).flag).toBe("--bundle-trust-file");
    expect(refusal([...cm, "--bundle-trust-configmap", "nope"]).flag).toBe("--bundle-trust-configmap");
    expect(refusal([...cm, "--max-signature-age", "soon"]).flag).toBe("--max-signature-age");
  });

  it("accepts plain bundles only with the explicit insecure opt-out, and never together with a trust source", () => {
    const file = ["--mode", "authz", "--tenant", "acme", "--bundle-file", "/b"];
    expect(parseVerifierArgs([...file, "--insecure-allow-unsigned-bundles"], {}).trust).toEqual({ kind: "off" });
    expect(refusal([...file, "--insecure-allow-unsigned-bundles", "--bundle-trust-file", "/t"]).flag).toBe("--insecure-allow-unsigned-bundles");
  });

  it("reads IPv6 and all-interfaces listen addresses", () => {
    expect(parseVerifierArgs([...proxy, "--listen", "[::1]:8443"], {}).listen).toEqual({ host: "::1", port: 8443 });
    expect(parseVerifierArgs([...proxy, "--listen", ":8443"], {}).listen).toEqual({ host: "0.0.0.0", port: 8443 });
  });

  it("refuses an environment variable with a bad value, naming its flag", () => {
    expect(refusal(proxy, { KEYWARD_VERIFIER_FORWARD_AUTHORIZATION: "yes" }).flag).toBe("--forward-authorization");
  });
});

describe("the verifier's --kubeconfig help", () => {
  it("names the fallbacks loadKubeConfig has ($KUBECONFIG, then in-cluster) and never offers ~/.kube/config", () => {
    const help = verifierHelp();
    expect(help).toContain("default $KUBECONFIG, then in-cluster");
    expect(help).not.toMatch(/\$KUBECONFIG, ~\/\.kube\/config/);
  });
});
