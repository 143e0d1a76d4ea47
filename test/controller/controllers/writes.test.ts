import { describe, expect, it } from "vitest";
import { hasFinalizer, replacing, statusHolds } from "../../../src/controller/controllers/writes.ts";
import type { Condition } from "../../../src/model/conditions.ts";

const c = (type: string, status: "True" | "False", reason: string): Condition => ({ type, status, reason, message: reason, lastTransitionTime: "2026-01-01T00:00:00Z" });

describe("statusHolds", () => {
  const current = {
    activeKid: "k1",
    keys: [{ kid: "k1", state: "active" }],
    bundleGeneration: 7,
    conditions: [c("Ready", "True", "KeysReady"), c("Published", "True", "Published")],
  };

  it("holds when every owned field and owned condition is as wanted, whatever other writers own", () => {
    expect(statusHolds(current, { fields: { activeKid: "k1", keys: [{ kid: "k1", state: "active" }] }, conditionTypes: ["Ready"], conditions: [c("Ready", "True", "KeysReady")] })).toBe(true);
    expect(statusHolds(current, { fields: { bundleGeneration: 7 }, conditionTypes: ["Published"], conditions: [c("Published", "True", "Published"), c("Ready", "False", "Other")] })).toBe(true);
  });

  it("does not hold when a field differs, is missing, or must go", () => {
    expect(statusHolds(current, { fields: { activeKid: "k2" }, conditionTypes: [], conditions: [] })).toBe(false);
    expect(statusHolds(current, { fields: { nextRotationTime: "2026-01-02T00:00:00Z" }, conditionTypes: [], conditions: [] })).toBe(false);
    expect(statusHolds(current, { fields: { activeKid: undefined }, conditionTypes: [], conditions: [] })).toBe(false);
    expect(statusHolds(undefined, { fields: { activeKid: undefined }, conditionTypes: [], conditions: [] })).toBe(true);
  });

  it("does not hold when an owned condition differs or is missing", () => {
    expect(statusHolds(current, { fields: {}, conditionTypes: ["Ready"], conditions: [c("Ready", "False", "Suspended")] })).toBe(false);
    expect(statusHolds(current, { fields: {}, conditionTypes: ["Rotating"], conditions: [c("Rotating", "False", "RotationComplete")] })).toBe(false);
  });
});

describe("hasFinalizer", () => {
  it("finds a finalizer by name", () => {
    expect(hasFinalizer({ metadata: { finalizers: ["a", "keyward.dev/bundle"] } }, "keyward.dev/bundle")).toBe(true);
    expect(hasFinalizer({ metadata: {} }, "keyward.dev/bundle")).toBe(false);
  });
});

describe("replacing", () => {
  it("sends null for a key of the current object the new one lacks, so a merge patch replaces the object", () => {
    const before = { request: "revokeAll", requestedAt: "2026-12-01T00:00:00Z", enforcedAt: "2026-12-01T00:00:01Z", verifiers: 3 };
    const after = { request: "revokeIssuedBefore", requestedAt: "2026-12-02T00:00:00Z" };
    expect(replacing(before, after)).toEqual({ ...after, enforcedAt: null, verifiers: null });
  });

  it("sends values that are not objects as they are, and null for a field that must go", () => {
    expect(replacing({ a: 1 }, [1, 2])).toEqual([1, 2]);
    expect(replacing(undefined, { a: 1 })).toEqual({ a: 1 });
    expect(replacing("x", undefined)).toBeNull();
  });
});
