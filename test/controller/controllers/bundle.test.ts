import { describe, expect, it } from "vitest";
import type { ApiKey } from "../../../src/api/index.ts";
import { entryChanged, joinsBundle, settledForBundle } from "../../../src/controller/controllers/bundle.ts";
import type { Bundle } from "../../../src/token/index.ts";

const key = (kid: string, apiKey: string): Bundle["keys"][number] =>
  ({ kty: "OKP", crv: "Ed25519", x: "x", kid, alg: "EdDSA", use: "sig", apiKey, state: "active", notAfter: null });

const bundle = (over: Partial<Bundle> = {}): Bundle => ({
  apiVersion: "keyward.dev/bundle/v1",
  tenant: "acme",
  issuer: "https://keyward.test",
  generation: 1,
  generatedAt: "2026-01-01T00:00:00Z",
  keys: [key("k1", "a"), key("k2", "b")],
  apiKeys: {
    a: { uid: "ua", policies: ["read"], suspended: false, revokedBefore: null, allowNonExpiring: false },
    b: { uid: "ub", policies: [], suspended: false, revokedBefore: null, allowNonExpiring: false },
  },
  policies: { read: { rules: [{ effect: "Allow", methods: ["GET"], paths: ["/**"] }] } },
  revoked: [],
  ...over,
});

describe("entryChanged", () => {
  it("ignores what belongs to other ApiKeys, the generation and revocations", () => {
    const before = bundle();
    const after = bundle({ generation: 2, keys: [key("k1", "a"), key("k3", "b")], revoked: [{ jti: "j", apiKey: "b", exp: 1 }] });
    expect(entryChanged(before, after, "a")).toBe(false);
    expect(entryChanged(before, after, "b")).toBe(true);
  });

  it("sees a change of the ApiKey's entry or of a policy it attaches", () => {
    const before = bundle();
    expect(entryChanged(before, bundle({ apiKeys: { ...before.apiKeys, a: { ...before.apiKeys.a!, suspended: true } } }), "a")).toBe(true);
    expect(entryChanged(before, bundle({ policies: { read: { rules: [{ effect: "Deny", methods: ["GET"], paths: ["/**"] }] } } }), "a")).toBe(true);
    expect(entryChanged(null, before, "a")).toBe(true);
  });
});

describe("settledForBundle", () => {
  const apiKey = (ready?: "True" | "False"): ApiKey => ({
    apiVersion: "keyward.dev/v1alpha1",
    kind: "ApiKey",
    metadata: { name: "a", namespace: "acme" },
    ...(ready === undefined ? {} : { status: { conditions: [{ type: "Ready", status: ready, reason: "R", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" }] } }),
  });

  it("waits for the ApiKey's first key, or its own first report when it has none", () => {
    expect(settledForBundle(apiKey(), [])).toBe(false);
    expect(settledForBundle(apiKey("True"), [])).toBe(false);
    expect(settledForBundle(apiKey(), [key("k1", "a")])).toBe(true);
    expect(settledForBundle(apiKey("True"), [key("k1", "a")])).toBe(true);
  });

  it("reports at once on an ApiKey that will get no key, or whose keys cannot be read", () => {
    expect(settledForBundle(apiKey("False"), [])).toBe(true);
    expect(settledForBundle(apiKey("True"), null)).toBe(true);
  });
});

describe("joinsBundle", () => {
  const apiKey = (over: Partial<ApiKey["metadata"]> = {}, ready = false): ApiKey => ({
    apiVersion: "keyward.dev/v1alpha1",
    kind: "ApiKey",
    metadata: { name: "a", namespace: "acme", ...over },
    ...(ready ? { status: { conditions: [{ type: "Ready", status: "False", reason: "R", message: "", lastTransitionTime: "2026-01-01T00:00:00Z" }] } } : {}),
  });

  it("leaves out an ApiKey whose first key is still being minted", () => {
    expect(joinsBundle(apiKey(), [])).toBe(false);
  });

  it("lists an ApiKey with keys, with unreadable keys, one reported on, or one being deleted", () => {
    expect(joinsBundle(apiKey(), [key("k1", "a")])).toBe(true);
    expect(joinsBundle(apiKey(), null)).toBe(true);
    expect(joinsBundle(apiKey({}, true), [])).toBe(true);
    expect(joinsBundle(apiKey({ deletionTimestamp: "2026-01-01T00:00:00Z" }), [])).toBe(true);
  });
});
