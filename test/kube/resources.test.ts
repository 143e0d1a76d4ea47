import { describe, expect, it } from "vitest";
import { Resources, apiVersionOf, resourceName, resourcePath } from "../../src/kube/resources.ts";
import { makeKey, objectKey, parseKey } from "../../src/kube/types.ts";

describe("resource paths", () => {
  it("addresses core and group resources, collections, objects and subresources", () => {
    expect(resourcePath(Resources.secrets, { namespace: "acme" })).toBe("/api/v1/namespaces/acme/secrets");
    expect(resourcePath(Resources.secrets)).toBe("/api/v1/secrets");
    expect(resourcePath(Resources.apiKeys, { namespace: "acme", name: "reporting", subresource: "status" })).toBe(
      "/apis/keyward.dev/v1alpha1/namespaces/acme/apikeys/reporting/status",
    );
    expect(resourcePath(Resources.clusterRotationPolicies, { namespace: "ignored", name: "default" })).toBe("/apis/keyward.dev/v1alpha1/clusterrotationpolicies/default");
    expect(resourcePath(Resources.leases, { namespace: "kube-system", name: "keyward" })).toBe("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/keyward");
  });

  it("escapes names so they cannot change the path", () => {
    expect(resourcePath(Resources.secrets, { namespace: "a", name: "../b?c" })).toBe("/api/v1/namespaces/a/secrets/..%2Fb%3Fc");
  });

  it("names resources for metrics and messages, and gives their apiVersion", () => {
    expect(resourceName(Resources.secrets)).toBe("secrets");
    expect(resourceName(Resources.apiKeys, "status")).toBe("apikeys.keyward.dev/status");
    expect(apiVersionOf(Resources.configMaps)).toBe("v1");
    expect(apiVersionOf(Resources.accessTokens)).toBe("keyward.dev/v1alpha1");
  });
});

describe("object keys", () => {
  it("keys namespaced objects namespace/name and cluster-scoped ones by name, and parses both back", () => {
    expect(objectKey({ metadata: { name: "r", namespace: "acme" } })).toBe("acme/r");
    expect(objectKey({ metadata: { name: "default" } })).toBe("default");
    expect(parseKey("acme/r")).toEqual({ namespace: "acme", name: "r" });
    expect(parseKey("default")).toEqual({ namespace: undefined, name: "default" });
    expect(makeKey(undefined, "x")).toBe("x");
    expect(makeKey("", "x")).toBe("x");
  });
});
