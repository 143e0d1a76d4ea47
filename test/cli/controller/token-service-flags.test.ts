import { describe, expect, it } from "vitest";
import { ControllerConfigError, parseControllerArgs } from "../../../src/cli/controller/options.ts";

const parse = (args: string[], env: Record<string, string> = {}): ReturnType<typeof parseControllerArgs> => parseControllerArgs(args, env);
const refusal = (args: string[], env: Record<string, string> = {}): ControllerConfigError => {
  try {
    parse(args, env);
  } catch (err) {
    if (err instanceof ControllerConfigError) return err;
    throw err;
  }
  throw new Error("accepted");
};

describe("keyward controller's token service flags", () => {
  it("leave the token service off by default", () => {
    expect(parse([]).tokenService).toBeNull();
  });

  it("turn it on with an address and both TLS files, from flags or the environment", () => {
    expect(parse(["--token-service-listen", ":8443", "--tls-cert-file", "/tls/tls.crt", "--tls-key-file", "/tls/tls.key", "--token-service-url", "https://keyward.example.com"]).tokenService).toEqual({
      listen: { host: "0.0.0.0", port: 8443 },
      certFile: "/tls/tls.crt",
      keyFile: "/tls/tls.key",
      publicUrl: "https://keyward.example.com",
    });
    expect(parse([], { KEYWARD_TOKEN_SERVICE_LISTEN: "127.0.0.1:9443", KEYWARD_TLS_CERT_FILE: "c", KEYWARD_TLS_KEY_FILE: "k" }).tokenService).toMatchObject({ listen: { host: "127.0.0.1", port: 9443 }, publicUrl: null });
  });

  it("refuse the service without TLS files, TLS files without the service, and a URL that is not https", () => {
    expect(refusal(["--token-service-listen", ":8443", "--tls-key-file", "k"]).flag).toBe("--tls-cert-file");
    expect(refusal(["--token-service-listen", ":8443", "--tls-cert-file", "c"]).message).toContain("set both --tls-cert-file and --tls-key-file");
    expect(refusal(["--tls-cert-file", "c"]).message).toBe("--tls-cert-file is set but the token service is off: set --token-service-listen too, or remove --tls-cert-file");
    expect(refusal(["--token-service-listen", ":8443", "--tls-cert-file", "c", "--tls-key-file", "k", "--token-service-url", "http://x"]).flag).toBe("--token-service-url");
    expect(refusal(["--token-service-listen", "nowhere"]).flag).toBe("--token-service-listen");
  });
});
