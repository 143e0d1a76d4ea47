import { describe, expect, it } from "vitest";
import { CONTROLLER_FLAGS, controllerHelp, ControllerConfigError, listenAddress, parseControllerArgs } from "../../../src/cli/controller/options.ts";

function refusal(args: string[], env: Record<string, string> = {}): ControllerConfigError {
  try {
    parseControllerArgs(args, env);
  } catch (err) {
    if (err instanceof ControllerConfigError) return err;
    throw err;
  }
  throw new Error(`expected ${args.join(" ")} to be refused`);
}

describe("parseControllerArgs", () => {
  it("keeps keyward's own objects in --system-namespace, else $POD_NAMESPACE, else keyward-system", () => {
    expect(parseControllerArgs(["--system-namespace", "kw"], { POD_NAMESPACE: "ops" }).systemNamespace).toBe("kw");
    expect(parseControllerArgs([], { POD_NAMESPACE: "ops" }).systemNamespace).toBe("ops");
    expect(parseControllerArgs([], { KEYWARD_SYSTEM_NAMESPACE: "kw2" }).systemNamespace).toBe("kw2");
  });

  it("refuses a --system-namespace that is no namespace name, and a watched namespace that is it", () => {
    expect(refusal(["--system-namespace", "Keyward"]).flag).toBe("--system-namespace");
    const err = refusal(["--namespace", "keyward-system"]);
    expect(err.flag).toBe("--namespace");
    expect(err.message).toContain("--system-namespace");
  });

  it("runs as the shard of --shard-selector, which needs a Lease of its own with election and excludes --namespace", () => {
    expect(parseControllerArgs(["--shard-selector", "keyward.dev/shard=a", "--leader-elect", "--leader-election-id", "keyward-controller-shard-a"], {}).shardSelector).toBe("keyward.dev/shard=a");
    expect(parseControllerArgs([], { KEYWARD_SHARD_SELECTOR: "tier in (gold,silver)" }).shardSelector).toBe("tier in (gold,silver)");
    expect(parseControllerArgs([], {}).shardSelector).toBeNull();
    expect(refusal(["--shard-selector", "keyward.dev/shard=a", "--leader-elect"]).flag).toBe("--leader-election-id");
    expect(refusal(["--shard-selector", "keyward.dev/shard=a", "--namespace", "acme"]).flag).toBe("--shard-selector");
    expect(refusal(["--shard-selector", " "]).flag).toBe("--shard-selector");
    expect(refusal(["--shard-selector", "a=b;c"]).flag).toBe("--shard-selector");
  });

  it("runs on every namespace, without election, with the defaults, when given nothing", () => {
    expect(parseControllerArgs([], {})).toEqual(
      expect.objectContaining({
        kubeconfig: null,
        namespaces: [],
        systemNamespace: "keyward-system",
        issuer: "keyward",
        leaderElect: false,
        leaderElectionNamespace: null,
        leaseName: "keyward-controller",
        metrics: { host: "0.0.0.0", port: 8080 },
        health: { host: "0.0.0.0", port: 8081 },
        logLevel: "info",
        workers: 4,
        resyncPeriodMs: 600_000,
      }),
    );
  });

  it("reads every flag", () => {
    const config = parseControllerArgs(
      [
        "--kubeconfig", "/tmp/kc",
        "--namespace", "acme",
        "--namespace", "globex",
        "--issuer", "https://keyward.example.com",
        "--leader-elect",
        "--leader-election-namespace", "keyward-system",
        "--leader-election-id", "kw",
        "--metrics-bind-address", "127.0.0.1:9000",
        "--health-probe-bind-address", ":9001",
        "--log-level", "debug",
        "--workers", "8",
        "--resync-period", "1h",
      ],
      {},
    );
    expect(config).toEqual(
      expect.objectContaining({
        kubeconfig: "/tmp/kc",
        namespaces: ["acme", "globex"],
        issuer: "https://keyward.example.com",
        leaderElect: true,
        leaderElectionNamespace: "keyward-system",
        leaseName: "kw",
        metrics: { host: "127.0.0.1", port: 9000 },
        health: { host: "0.0.0.0", port: 9001 },
        logLevel: "debug",
        workers: 8,
        resyncPeriodMs: 3_600_000,
      }),
    );
  });

  it("reads the same settings from the environment, flags winning", () => {
    const env = {
      KEYWARD_KUBECONFIG: "/env/kc",
      KEYWARD_NAMESPACES: "acme, globex,,acme",
      KEYWARD_ISSUER: "https://env.example",
      KEYWARD_LEADER_ELECT: "true",
      POD_NAMESPACE: "keyward-system",
      KEYWARD_METRICS_BIND_ADDRESS: "0",
      KEYWARD_LOG_LEVEL: "warn",
    };
    const config = parseControllerArgs(["--issuer", "https://flag.example"], env);
    expect(config).toEqual(
      expect.objectContaining({
        kubeconfig: "/env/kc",
        namespaces: ["acme", "globex"],
        issuer: "https://flag.example",
        leaderElect: true,
        leaderElectionNamespace: "keyward-system",
        metrics: null,
        logLevel: "warn",
      }),
    );
  });

  it("accepts the older --metrics-listen and --health-listen names", () => {
    const config = parseControllerArgs(["--metrics-listen=0.0.0.0:8080", "--health-listen=0.0.0.0:8082"], {});
    expect(config.health).toEqual({ host: "0.0.0.0", port: 8082 });
  });

  it("issues tokens with the tenant's issuer and accepts the shared one for 30 days by default", () => {
    expect(parseControllerArgs([], {})).toMatchObject({ issuerForm: "tenant", sharedIssuerWindowSeconds: 30 * 86_400 });
    expect(parseControllerArgs(["--issuer-form", "shared", "--shared-issuer-window", "48h"], {})).toMatchObject({ issuerForm: "shared", sharedIssuerWindowSeconds: 172_800 });
    expect(parseControllerArgs([], { KEYWARD_ISSUER_FORM: "shared", KEYWARD_SHARED_ISSUER_WINDOW: "0s" })).toMatchObject({ issuerForm: "shared", sharedIssuerWindowSeconds: 0 });
  });

  it("refuses an unknown --issuer-form and a --shared-issuer-window that is no duration or too long", () => {
    expect(refusal(["--issuer-form", "global"]).message).toBe('--issuer-form must be one of tenant, shared, not "global"');
    expect(refusal(["--shared-issuer-window", "30d"]).flag).toBe("--shared-issuer-window");
    expect(refusal(["--shared-issuer-window", "87601h"]).message).toContain("at most 87600h");
  });

  it("refuses bad input, naming the flag and the fix", () => {
    expect(refusal(["--namespace", "Not_A_Namespace"]).flag).toBe("--namespace");
    expect(refusal(["--issuer", "has space"]).message).toContain("without spaces");
    expect(refusal(["--metrics-bind-address", "8080"]).message).toContain("HOST:PORT");
    expect(refusal(["--metrics-bind-address", ":8080", "--health-probe-bind-address", ":8080"]).flag).toBe("--metrics-bind-address");
    expect(refusal(["--log-level", "loud"]).message).toContain("one of fatal, error, warn, info, debug, trace, silent");
    expect(refusal(["--workers", "0"]).flag).toBe("--workers");
    expect(refusal(["--resync-period", "10 minutes"]).flag).toBe("--resync-period");
    expect(refusal(["--resync-period", "0.5s"]).message).toContain("at least 1s");
    expect(refusal([], { KEYWARD_LEADER_ELECT: "perhaps" }).message).toContain("KEYWARD_LEADER_ELECT");
    expect(refusal(["--frobnicate"]).message).toContain("keyward controller --help");
    expect(refusal(["extra"]).message).toContain('unexpected argument "extra"');
  });
});

describe("controllerHelp", () => {
  it("lists every flag with its environment variable", () => {
    const help = controllerHelp();
    for (const f of CONTROLLER_FLAGS) {
      expect(help).toContain(`--${f.name}`);
      expect(help).toContain(`[${f.env}]`);
    }
  });
});

describe("listenAddress", () => {
  it("reads HOST:PORT, :PORT, [IPv6]:PORT and the words that turn a server off", () => {
    expect(listenAddress("--x", "127.0.0.1:80")).toEqual({ host: "127.0.0.1", port: 80 });
    expect(listenAddress("--x", ":80")).toEqual({ host: "0.0.0.0", port: 80 });
    expect(listenAddress("--x", "[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(listenAddress("--x", "off")).toBeNull();
    expect(() => listenAddress("--x", "host:99999")).toThrow(ControllerConfigError);
  });
});
