import { describe, expect, it } from "vitest";
import { ControllerConfigError, parseControllerArgs } from "../../src/cli/controller/options.ts";

function refusal(args: string[]): ControllerConfigError {
  try {
    parseControllerArgs(args, {});
  } catch (err) {
    if (err instanceof ControllerConfigError) return err;
    throw err;
  }
  throw new Error("accepted");
}

describe("the webhook flags of keyward controller", () => {
  it("leave the webhook off by default", () => {
    expect(parseControllerArgs([], {}).webhook).toBeNull();
  });

  it("turn it on with --webhook-bind-address, with the default names and the controller's own image", () => {
    expect(parseControllerArgs(["--webhook-bind-address", ":9443"], {}).webhook).toEqual({
      listen: { host: "0.0.0.0", port: 9443 }, image: null, serviceName: "keyward-webhook", secretName: "keyward-webhook-tls", configurationName: "keyward-injector", files: null,
    });
    expect(parseControllerArgs([], { KEYWARD_WEBHOOK_BIND_ADDRESS: "127.0.0.1:9443", KEYWARD_SIDECAR_IMAGE: "reg/keyward:1" }).webhook).toMatchObject({ listen: { host: "127.0.0.1" }, image: "reg/keyward:1" });
  });

  it("refuse an image without the webhook, and names that are not object names", () => {
    expect(refusal(["--sidecar-image", "x:1"]).flag).toBe("--sidecar-image");
    expect(refusal(["--webhook-bind-address", ":9443", "--webhook-service", "Web_hook"]).flag).toBe("--webhook-service");
    expect(refusal(["--webhook-bind-address", ":9443", "--webhook-secret", "-x"]).flag).toBe("--webhook-secret");
    expect(refusal(["--webhook-bind-address", "nowhere"]).message).toContain("--webhook-bind-address");
  });

  it("take the serving pair from files, both or neither, for cert-manager", () => {
    expect(parseControllerArgs(["--webhook-bind-address", ":9443", "--webhook-cert-file", "/tls/tls.crt", "--webhook-key-file", "/tls/tls.key"], {}).webhook?.files).toEqual({ certFile: "/tls/tls.crt", keyFile: "/tls/tls.key" });
    expect(refusal(["--webhook-bind-address", ":9443", "--webhook-cert-file", "/tls/tls.crt"]).flag).toBe("--webhook-key-file");
    expect(refusal(["--webhook-cert-file", "/tls/tls.crt"]).message).toContain("the webhook is off");
  });
});
