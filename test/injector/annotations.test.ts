import { describe, expect, it } from "vitest";
import { ANNOTATIONS, DEFAULT_SETTINGS, InjectionError, parseSettings } from "../../src/injector/index.ts";

function refusal(annotations: Record<string, string>): InjectionError {
  try {
    parseSettings(annotations, "Pod acme/web-1");
  } catch (err) {
    if (err instanceof InjectionError) return err;
    throw err;
  }
  throw new Error("accepted");
}

describe("the settings annotations", () => {
  it("give the settings of config/verifier when a Pod has none", () => {
    expect(parseSettings(undefined, "Pod acme/web-1")).toEqual({
      mode: "proxy", upstreamPort: 8080, listenPort: 8443, adminPort: 9090, bundleSource: "configmap", logLevel: "info",
      cpuRequest: "20m", cpuLimit: "500m", memoryRequest: "64Mi", memoryLimit: "128Mi",
    });
    expect(parseSettings({}, "x")).toEqual(DEFAULT_SETTINGS);
  });

  it("read every documented annotation", () => {
    const s = parseSettings({
      [ANNOTATIONS.mode]: "authz", [ANNOTATIONS.upstreamPort]: "3000", [ANNOTATIONS.listenPort]: "8000", [ANNOTATIONS.adminPort]: "9000",
      [ANNOTATIONS.bundleSource]: "file", [ANNOTATIONS.logLevel]: "debug", [ANNOTATIONS.cpuRequest]: "0.1", [ANNOTATIONS.cpuLimit]: "1",
      [ANNOTATIONS.memoryRequest]: "32Mi", [ANNOTATIONS.memoryLimit]: "1Gi",
    }, "x");
    expect(s).toEqual({ mode: "authz", upstreamPort: 3000, listenPort: 8000, adminPort: 9000, bundleSource: "file", logLevel: "debug", cpuRequest: "0.1", cpuLimit: "1", memoryRequest: "32Mi", memoryLimit: "1Gi" });
  });

  it.each([
    [ANNOTATIONS.listenPort, "http", "a port number from 1 to 65535"],
    [ANNOTATIONS.upstreamPort, "70000", "a port number from 1 to 65535"],
    [ANNOTATIONS.adminPort, "0", "a port number from 1 to 65535"],
    [ANNOTATIONS.mode, "sidecar", "one of proxy, authz"],
    [ANNOTATIONS.bundleSource, "secret", "one of configmap, file"],
    [ANNOTATIONS.logLevel, "verbose", "one of fatal, error"],
    [ANNOTATIONS.cpuRequest, "lots", "a positive quantity such as 20m"],
    [ANNOTATIONS.memoryLimit, "128MB", "a positive quantity such as 128Mi"],
    [ANNOTATIONS.memoryRequest, "0", "a positive quantity"],
  ])("refuse %s: %s, naming the Pod, the annotation, the value and what it accepts", (key, value, accepts) => {
    const err = refusal({ [key]: value });
    expect(err.code).toBe("ERR_INJECT_ANNOTATION");
    expect(err.field).toBe(key);
    expect(err.message).toContain("Pod acme/web-1");
    expect(err.message).toContain(`annotation ${key}: "${value}"`);
    expect(err.message).toContain(accepts);
  });

  it("refuse ports of the sidecar that collide with each other", () => {
    expect(refusal({ [ANNOTATIONS.listenPort]: "9090" }).field).toBe(ANNOTATIONS.adminPort);
    expect(refusal({ [ANNOTATIONS.upstreamPort]: "8443" }).field).toBe(ANNOTATIONS.upstreamPort);
    expect(refusal({ [ANNOTATIONS.upstreamPort]: "9090" }).message).toContain("must all differ");
  });

  it("let the upstream port be anything in authz mode, where there is no upstream", () => {
    expect(parseSettings({ [ANNOTATIONS.mode]: "authz", [ANNOTATIONS.upstreamPort]: "8443" }, "x").mode).toBe("authz");
  });

  it("refuse a request above its limit", () => {
    expect(refusal({ [ANNOTATIONS.cpuRequest]: "2" }).field).toBe(ANNOTATIONS.cpuRequest);
    expect(refusal({ [ANNOTATIONS.memoryRequest]: "1Gi", [ANNOTATIONS.memoryLimit]: "512Mi" }).message).toContain("more than the limit 512Mi");
  });
});
