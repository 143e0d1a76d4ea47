import { describe, expect, it } from "vitest";
import { API_VERSION } from "../../src/api/types.generated.ts";
import { issuedTokenName, planIssuedTokenCleanup, revocationsFromIssuedTokens } from "../../src/model/issued-token.ts";
import { at, record } from "./support/issued-token.ts";

const NOW = new Date("2026-11-29T12:00:00Z");

describe("an IssuedToken", () => {
  it("is named after its ApiKey and a short hash of its jti, owned by and labelled with the ApiKey", () => {
    const r = record("abc");
    expect(r.metadata.name).toMatch(/^reporting-[0-9a-f]{10}$/);
    expect(r.metadata.name).toBe(issuedTokenName("reporting", "abc"));
    expect(issuedTokenName("reporting", "abd")).not.toBe(r.metadata.name);
    expect(r.metadata.namespace).toBe("acme");
    expect(r.metadata.labels).toEqual({ "app.kubernetes.io/managed-by": "keyward", "keyward.dev/api-key": "reporting" });
    expect(r.metadata.ownerReferences).toEqual([{ apiVersion: API_VERSION, kind: "ApiKey", name: "reporting", uid: "u-1", controller: true, blockOwnerDeletion: false }]);
    expect(r.spec).toEqual({ apiKeyName: "reporting", jti: "abc", kid: "kid-1", issuedAt: "2026-11-29T11:00:00Z", expiresAt: "2026-11-29T13:00:00Z", issuedBy: "ApiKey acme/workflow", revoked: false });
  });

  it("leaves expiresAt out for a token without exp", () => {
    expect(record("n", { exp: null }).spec.expiresAt).toBeUndefined();
  });
});

describe("revocationsFromIssuedTokens", () => {
  it("lists the revoked records whose token a verifier could still accept, sorted, with their exp", () => {
    const list = [
      record("b", { revoked: true }),
      record("a", { revoked: true, apiKeyName: "other" }),
      record("live"),
      record("old", { revoked: true, exp: "2026-11-29T11:54:59Z" }),
      record("leeway", { revoked: true, exp: "2026-11-29T11:56:00Z" }),
      record("forever", { revoked: true, exp: null }),
    ];
    expect(revocationsFromIssuedTokens(list, NOW)).toEqual([
      { jti: "a", apiKey: "other", exp: at("2026-11-29T13:00:00Z") },
      { jti: "b", apiKey: "reporting", exp: at("2026-11-29T13:00:00Z") },
      { jti: "forever", apiKey: "reporting", exp: null },
      { jti: "leeway", apiKey: "reporting", exp: at("2026-11-29T11:56:00Z") },
    ]);
  });
});

describe("planIssuedTokenCleanup", () => {
  it("deletes records five minutes past their token's exp, revoked or not, and wakes at the next one", () => {
    const plan = planIssuedTokenCleanup(
      [record("gone", { exp: "2026-11-29T11:50:00Z" }), record("gone-revoked", { exp: "2026-11-29T11:00:00Z", revoked: true }), record("soon", { exp: "2026-11-29T12:30:00Z" }), record("later"), record("forever", { exp: null })],
      NOW,
    );
    expect(plan.expired.map((e) => e.uid)).toEqual(["uid-gone", "uid-gone-revoked"]);
    expect(plan.expired[0]).toMatchObject({ namespace: "acme", name: issuedTokenName("reporting", "gone") });
    expect(plan.nextAt?.toISOString()).toBe("2026-11-29T12:35:00.000Z");
    expect(planIssuedTokenCleanup([record("forever", { exp: null })], NOW)).toEqual({ expired: [], nextAt: null });
  });
});
