import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AccessTokenConditionTypes, ApiKeyConditionTypes, eventOf, Reasons, type Reason } from "../../src/controller/reasons.ts";

const doc = readFileSync(new URL("../../docs/conditions.md", import.meta.url), "utf8");
const reasons = Object.keys(Reasons) as Reason[];

describe("the reasons table", () => {
  it("is documented in docs/conditions.md, reason by reason", () => {
    const missing = reasons.filter((r) => !doc.includes(`| \`${r}\` |`));
    expect(missing).toEqual([]);
  });

  it("documents every condition type of both kinds", () => {
    for (const type of [...ApiKeyConditionTypes, ...AccessTokenConditionTypes]) expect(doc).toContain(`| \`${type}\` |`);
  });

  it("names only condition types its kind has", () => {
    for (const reason of reasons) {
      const { kind, conditions } = Reasons[reason];
      const types: readonly string[] = kind === "ApiKey" ? ApiKeyConditionTypes : AccessTokenConditionTypes;
      for (const [type] of conditions) expect({ reason, type, known: types.includes(type) }).toEqual({ reason, type, known: true });
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
