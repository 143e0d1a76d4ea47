import { describe, expect, it } from "vitest";
import { errorFromResponse, KubeConfigError, UnavailableError } from "../../src/kube/index.ts";
import { explain, Hints, type Subject } from "../../src/plugin/index.ts";

const subject: Subject = { kind: "apikey", resource: "apikeys", name: "reporting", namespace: "acme", verb: "patch", permissionHint: Hints.changeApiKey };
const target = { verb: "patch", resource: "apikeys.keyward.dev", namespace: "acme", name: "reporting" };

describe("explain", () => {
  it("names the missing object and how to look for it", () => {
    const err = explain(errorFromResponse(target, 404, { message: 'apikeys.keyward.dev "reporting" not found', reason: "NotFound" }), subject);
    expect(err.code).toBe("ERR_PLUGIN_NOT_FOUND");
    expect(err.message).toBe('apikey "reporting" in namespace "acme" not found: check the name (kubectl get apikeys -n acme) and the namespace (-n NAMESPACE)');
  });

  it("says the CRDs are missing when the API server does not serve the resource at all", () => {
    const err = explain(errorFromResponse(target, 404, { message: "the server could not find the requested resource", reason: "NotFound" }), subject);
    expect(err.message).toContain("keyward's CRDs are not installed in this cluster (kubectl apply -k config/crd)");
  });

  it("names the refused permission and the role that grants it", () => {
    const server = 'apikeys.keyward.dev "reporting" is forbidden: User "alice" cannot patch resource "apikeys" in API group "keyward.dev" in the namespace "acme"';
    const err = explain(errorFromResponse(target, 403, { message: server, reason: "Forbidden" }), subject);
    expect(err.code).toBe("ERR_PLUGIN_FORBIDDEN");
    expect(err.message).toBe(`forbidden: you may not patch apikey "reporting" in namespace "acme" (${server}). ${Hints.changeApiKey}`);
  });

  it("passes on the API server's validation message, which names the field", () => {
    const server = "ApiKey.keyward.dev \"reporting\" is invalid: spec.revokeIssuedBefore: Invalid value: \"string\": spec.revokeIssuedBefore cannot move earlier";
    const err = explain(errorFromResponse(target, 422, { message: server, reason: "Invalid" }), subject);
    expect(err.code).toBe("ERR_PLUGIN_INVALID");
    expect(err.message).toContain("spec.revokeIssuedBefore cannot move earlier");
  });

  it("points at the kubeconfig when credentials are refused, none is found or the server is unreachable", () => {
    expect(explain(errorFromResponse(target, 401, { message: "Unauthorized" }), subject).message).toContain("log in again or choose another --context");
    expect(explain(new KubeConfigError("no Kubernetes configuration found", ["KUBECONFIG is not set"]), subject).message).toContain("Point --kubeconfig (or KUBECONFIG) at a kubeconfig");
    const down = new UnavailableError(target, 0, undefined, { message: "patch apikeys.keyward.dev: cannot reach the API server at https://127.0.0.1:1" });
    expect(explain(down, subject)).toMatchObject({ code: "ERR_PLUGIN_CONNECTION", message: expect.stringContaining("check --kubeconfig and --context") as unknown });
  });

  it("lets errors that are not the API's through unchanged", () => {
    const bug = new TypeError("boom");
    expect(() => explain(bug, subject)).toThrow(bug);
  });
});
