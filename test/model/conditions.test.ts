import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ConditionError,
  conditionsEqual,
  findCondition,
  formatTime,
  isConditionTrue,
  jsonEqual,
  removeCondition,
  setCondition,
  setConditions,
  type Condition,
  type ConditionInput,
} from "../../src/model/conditions.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const T1 = T0 + 3_600_000;

const ready = (status: "True" | "False" | "Unknown", reason = "KeysReady", message = "all keys published", observedGeneration = 1): ConditionInput => ({
  type: "Ready",
  status,
  reason,
  message,
  observedGeneration,
});

describe("setCondition", () => {
  it("adds a new condition stamped with the current time in whole seconds", () => {
    const out = setCondition(undefined, ready("True"), T0 + 999);
    expect(out).toEqual([{ type: "Ready", status: "True", observedGeneration: 1, lastTransitionTime: "2026-01-01T12:00:00Z", reason: "KeysReady", message: "all keys published" }]);
  });

  it("keeps lastTransitionTime when the status does not change, while updating reason, message and observedGeneration", () => {
    const first = setCondition([], ready("True"), T0);
    const second = setCondition(first, ready("True", "Rotated", "rotated key abc", 2), T1);
    expect(second[0]).toEqual({ type: "Ready", status: "True", observedGeneration: 2, lastTransitionTime: formatTime(T0), reason: "Rotated", message: "rotated key abc" });
  });

  it("moves lastTransitionTime when the status changes", () => {
    const first = setCondition([], ready("True"), T0);
    const second = setCondition(first, ready("False", "PolicyMissing", "AccessPolicy acme/read does not exist"), T1);
    expect(second[0]!.lastTransitionTime).toBe(formatTime(T1));
  });

  it("leaves other conditions and their order alone, and does not modify its input", () => {
    const start = setConditions([], [ready("True"), { type: "Rotating", status: "False", reason: "Idle", message: "" }], T0);
    const frozen = structuredClone(start);
    const out = setCondition(start, ready("False", "Broken", "x"), T1);
    expect(out.map((c) => c.type)).toEqual(["Ready", "Rotating"]);
    expect(out[1]).toEqual(start[1]);
    expect(start).toEqual(frozen);
  });

  it("returns a status deep-equal to its input when nothing changed, so no write is needed", () => {
    const start = setCondition([], ready("True"), T0);
    const again = setCondition(start, ready("True"), T1);
    expect(conditionsEqual(start, again)).toBe(true);
    expect(jsonEqual({ conditions: start }, { conditions: again })).toBe(true);
  });

  it("refuses a reason, type or message the API server would refuse, naming the field", () => {
    expect(() => setCondition([], { ...ready("True"), reason: "not camel case" }, T0)).toThrow(ConditionError);
    expect(() => setCondition([], { ...ready("True"), reason: "" }, T0)).toThrow(/Ready\.reason/);
    expect(() => setCondition([], { ...ready("True"), type: "bad type" }, T0)).toThrow(/^type:/);
    expect(() => setCondition([], { ...ready("True"), message: "x".repeat(32769) }, T0)).toThrow(/Ready\.message/);
    expect(() => setCondition([], { ...ready("True"), status: "Yes" as "True" }, T0)).toThrow(/True, False or Unknown/);
    expect(() => setCondition([], { ...ready("True"), observedGeneration: -1 }, T0)).toThrow(/observedGeneration/);
  });

  it("accepts prefixed types and reasons with digits, commas and colons", () => {
    expect(() => setCondition([], { type: "keyward.dev/BundleTooLarge", status: "True", reason: "Size_2,Limit:1MiB", message: "" }, T0)).not.toThrow();
  });

  it("keeps lastTransitionTime exactly when the status is unchanged (property)", () => {
    const status = fc.constantFrom("True" as const, "False" as const, "Unknown" as const);
    fc.assert(
      fc.property(fc.array(fc.tuple(status, fc.integer({ min: 0, max: 10_000 })), { minLength: 1, maxLength: 20 }), (steps) => {
        let conds: Condition[] = [];
        let now = T0;
        let lastStatus: string | undefined;
        let lastChange = "";
        for (const [s, dt] of steps) {
          now += dt * 1000;
          conds = setCondition(conds, ready(s), now);
          if (s !== lastStatus) lastChange = formatTime(now);
          lastStatus = s;
          expect(conds).toHaveLength(1);
          expect(conds[0]!.lastTransitionTime).toBe(lastChange);
        }
      }),
    );
  });
});

describe("condition queries", () => {
  it("finds, tests and removes conditions by type", () => {
    const conds = setConditions([], [ready("True"), { type: "Degraded", status: "False", reason: "Fine", message: "" }], T0);
    expect(findCondition(conds, "Degraded")?.reason).toBe("Fine");
    expect(isConditionTrue(conds, "Ready")).toBe(true);
    expect(isConditionTrue(conds, "Degraded")).toBe(false);
    expect(isConditionTrue(undefined, "Ready")).toBe(false);
    expect(removeCondition(conds, "Ready").map((c) => c.type)).toEqual(["Degraded"]);
  });
});

describe("conditionsEqual", () => {
  const a = setConditions([], [ready("True"), { type: "Degraded", status: "False", reason: "Fine", message: "" }], T0);

  it("ignores order", () => {
    expect(conditionsEqual(a, [...a].reverse())).toBe(true);
  });

  it("sees any field change", () => {
    for (const change of [{ status: "False" }, { reason: "Other" }, { message: "m" }, { lastTransitionTime: formatTime(T1) }, { observedGeneration: 2 }] as const) {
      expect(conditionsEqual(a, [{ ...a[0]!, ...change }, a[1]!])).toBe(false);
    }
  });

  it("treats missing and empty lists alike and different lengths as different", () => {
    expect(conditionsEqual(undefined, [])).toBe(true);
    expect(conditionsEqual(a, a.slice(1))).toBe(false);
  });
});

describe("jsonEqual", () => {
  it("compares objects by keys regardless of order, with undefined members counting as absent", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: "x" }] }, { b: [1, { c: "x" }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: null }, { a: undefined })).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
  });

  it("agrees with comparing canonical JSON (property)", () => {
    const canon = (v: unknown): string =>
      JSON.stringify(v, (_k, val: unknown) =>
        val !== null && typeof val === "object" && !Array.isArray(val)
          ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
          : val,
      );
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (x, y) => {
        expect(jsonEqual(x, y)).toBe(canon(x) === canon(y));
        expect(jsonEqual(x, structuredClone(x))).toBe(true);
      }),
    );
  });
});
