import { describe, expect, it } from "vitest";
import type { AccessToken, ApiKey, Condition } from "../../src/api/index.ts";
import { accessTokenNotReady, apiKeyNotReady, describeCondition, resourceFor, shortKid } from "../../src/demo/index.ts";

const cond = (type: string, status: "True" | "False", reason: string, message = ""): Condition => ({ type, status, reason, message, lastTransitionTime: "2026-11-29T00:00:00Z" });

function apiKey(status: ApiKey["status"], generation = 1): ApiKey {
  return { apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name: "reporting", generation }, spec: {}, status };
}

function accessToken(status: AccessToken["status"]): AccessToken {
  return { apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", metadata: { name: "reporting", generation: 1 }, spec: { apiKeyName: "reporting" }, status };
}

const readyKey = apiKey({
  observedGeneration: 1,
  activeKid: "kid-B",
  bundleGeneration: 7,
  conditions: [cond("Ready", "True", "KeysReady"), cond("Published", "True", "Published")],
});

describe("apiKeyNotReady", () => {
  it("is null once the ApiKey is Ready for its generation and published in the bundle", () => {
    expect(apiKeyNotReady(readyKey)).toBeNull();
  });

  it("says which condition holds it back", () => {
    expect(apiKeyNotReady(apiKey({}))).toBe("apikey reporting: no Ready condition yet");
    expect(apiKeyNotReady(apiKey({ observedGeneration: 1, conditions: [cond("Ready", "False", "RotationPolicyNotFound", "no RotationPolicy demo")] }))).toBe(
      "apikey reporting: Ready=False (RotationPolicyNotFound): no RotationPolicy demo",
    );
    expect(apiKeyNotReady({ ...readyKey, metadata: { ...readyKey.metadata, generation: 2 } })).toContain("Ready=True");
    expect(apiKeyNotReady(apiKey({ ...readyKey.status, conditions: [cond("Ready", "True", "KeysReady")] }))).toBe("apikey reporting: no Published condition yet");
  });
});

describe("accessTokenNotReady", () => {
  const ready = [cond("Ready", "True", "Issued")];
  it("is null once the token is Ready and signed by the ApiKey's active key", () => {
    expect(accessTokenNotReady(accessToken({ observedGeneration: 1, kid: "kid-B", conditions: ready }), readyKey)).toBeNull();
  });

  it("waits for the re-issue after a rotation", () => {
    expect(accessTokenNotReady(accessToken({ observedGeneration: 1, kid: "kid-A", conditions: ready }), readyKey)).toBe(
      "accesstoken reporting: signed by kid-A, not yet re-issued with the active key kid-B",
    );
    expect(accessTokenNotReady(accessToken({ observedGeneration: 1, conditions: [cond("Ready", "False", "ApiKeyNotReady")] }), readyKey)).toBe(
      "accesstoken reporting: Ready=False (ApiKeyNotReady): ",
    );
  });
});

describe("helpers", () => {
  it("describe a condition, shorten a kid and find the resource of each kind the demo applies", () => {
    expect(describeCondition({ status: { conditions: [cond("Published", "False", "BundleTooLarge", "too big")] } }, "Published")).toBe("Published=False (BundleTooLarge): too big");
    expect(shortKid("PauKC9SQx8kkR1dJ")).toBe("PauKC9SQ");
    for (const kind of ["Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRotationPolicy", "RotationPolicy", "AccessPolicy", "ApiKey", "AccessToken"]) {
      expect(resourceFor(kind).kind).toBe(kind);
    }
    expect(resourceFor("ClusterRotationPolicy").namespaced).toBe(false);
    expect(() => resourceFor("Deployment")).toThrow("the demo does not know how to apply a Deployment");
  });
});
