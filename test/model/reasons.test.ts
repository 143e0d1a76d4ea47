import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ConditionTypes, eventOf, Reasons, type Reason } from "../../src/model/reasons.ts";

const doc = readFileSync(new URL("../../docs/conditions.md", import.meta.url), "utf8");
const reasons = Object.keys(Reasons) as Reason[];

describe("the reasons table", () => {
  it("is documented in docs/conditions.md, reason by reason", () => {
    const missing = reasons.filter((r) => !doc.includes(`| \`${r}\` |`));
    expect(missing).toEqual([]);
  });

  it("documents every condition type of every kind", () => {
    for (const type of Object.values(ConditionTypes).flat()) expect(doc).toContain(`| \`${type}\` |`);
  });

  it("names only condition types each of its kinds has", () => {
    for (const reason of reasons) {
      const { kinds, conditions } = Reasons[reason];
      for (const kind of kinds) {
        const types: readonly string[] = ConditionTypes[kind];
        for (const [type] of conditions) expect({ reason, kind, type, known: types.includes(type) }).toEqual({ reason, kind, type, known: true });
      }
    }
  });

  it("makes every reason that sets a condition False a Warning Event, on the policy kinds", () => {
    for (const reason of reasons) {
      const { kinds, conditions, event } = Reasons[reason];
      if (!kinds.every((k) => k === "AccessPolicy" || k === "RotationPolicy" || k === "ClusterRotationPolicy")) continue;
      const status = conditions[0]?.[1];
      expect({ reason, event }).toEqual({ reason, event: status === "False" ? "Warning" : null });
    }
  });

  it("gives every reason either a condition or an event", () => {
    for (const reason of reasons) {
      const { conditions, event } = Reasons[reason];
      expect({ reason, used: conditions.length > 0 || event !== null }).toEqual({ reason, used: true });
    }
  });

  it("uses CamelCase reasons the API server accepts", () => {
    for (const reason of reasons) expect(reason).toMatch(/^[A-Z][A-Za-z0-9]*$/);
  });

  it("makes an event of the type the table gives", () => {
    expect(eventOf("SigningKeyLost", "m")).toEqual({ type: "Warning", reason: "SigningKeyLost", message: "m" });
    expect(eventOf("RotationStarted", "m")).toEqual({ type: "Normal", reason: "RotationStarted", message: "m" });
  });
});
