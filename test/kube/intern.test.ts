import { describe, expect, it } from "vitest";
import { internRepeatedStrings, StringPool } from "../../src/kube/intern.ts";

/** Two objects as two JSON.parse calls give them: equal content, no string shared. */
function parsedTwice<T>(value: T): [T, T] {
  const text = JSON.stringify(value);
  return [JSON.parse(text) as T, JSON.parse(text) as T];
}

const accessToken = {
  apiVersion: "keyward.dev/v1alpha1",
  kind: "AccessToken",
  metadata: { name: "ci", namespace: "acme", uid: "0b5c-1", labels: { "keyward.dev/api-key": "reporting" }, finalizers: ["keyward.dev/revocation"] },
  spec: { apiKeyName: "reporting" },
  status: { jti: "jti-1", conditions: [{ type: "Ready", status: "True", reason: "Issued", message: "issued", lastTransitionTime: "2026-03-01T00:00:00Z" }] },
};

describe("internRepeatedStrings", () => {
  it("gives two objects one shared copy of the values that repeat, and leaves their content equal", () => {
    const pool = new StringPool();
    const [a, b] = parsedTwice(accessToken);
    internRepeatedStrings(a, pool);
    internRepeatedStrings(b, pool);
    expect(a).toEqual(accessToken);
    expect(b).toEqual(accessToken);
    // Each of these values is now in the pool once, and both objects point at that copy.
    const shared = [a.apiVersion, a.kind, a.metadata.labels["keyward.dev/api-key"], a.metadata.finalizers[0], ...Object.values(a.status.conditions[0] ?? {})];
    expect(pool.size).toBe(new Set(shared).size);
  });

  it("leaves names, uids and other one-of-a-kind values out of the pool", () => {
    const pool = new StringPool();
    internRepeatedStrings(JSON.parse(JSON.stringify(accessToken)) as typeof accessToken, pool);
    for (const unique of ["ci", "acme", "0b5c-1", "jti-1"]) expect(pool.intern(unique.slice(0))).toBe(unique);
    // intern() added them just now: before, the pool held only repeating fields.
    expect(pool.size).toBe(9 + 4);
  });

  it("never holds more than its capacity: a full pool starts again empty", () => {
    const pool = new StringPool(3);
    for (const v of ["a", "b", "c", "d"]) pool.intern(v);
    expect(pool.size).toBe(1);
    expect(pool.intern("d")).toBe("d");
  });

  it("shares a time in any field, and nothing that merely starts like one", () => {
    const pool = new StringPool();
    internRepeatedStrings({ status: { expiresAt: "2026-03-02T00:00:00Z", keys: [{ createdAt: "2026-03-01T00:00:00.123+01:00" }], jti: "2026-03-01-not-a-time" } }, pool);
    expect(pool.size).toBe(2);
  });

  it("does not share a value longer than 512 characters", () => {
    const pool = new StringPool();
    internRepeatedStrings({ message: "x".repeat(513) }, pool);
    expect(pool.size).toBe(0);
  });

  it("shares a signing key's id wherever it appears, and an AccessToken's apiKeyName", () => {
    const kid = "7mOOtk4gBpS5w4c5Y_hHv26E4o0CrYLV2vfMhB3-DXk";
    // Each object alone, so that each field is seen to count: the kid and the ApiKey's name of an
    // AccessToken, the kid of a token Secret's annotation and of its digest; jti and sha256 are one
    // per token and stay out.
    const cases: [unknown, number][] = [
      [{ spec: { apiKeyName: "reporting" } }, 1],
      [{ status: { kid } }, 1],
      [{ status: { issued: [{ kid, jti: "j1" }] } }, 1],
      [{ metadata: { annotations: { "keyward.dev/kid": kid, "keyward.dev/jti": "j1" } } }, 1],
      [{ tokenDigest: { kid, jti: "j1", sha256: "s" } }, 1],
    ];
    for (const [object, size] of cases) {
      const pool = new StringPool();
      internRepeatedStrings(JSON.parse(JSON.stringify(object)) as unknown, pool);
      expect([object, pool.size]).toEqual([object, size]);
    }
  });
});
