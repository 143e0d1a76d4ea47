import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PolicyConditionTypes, PolicyReasons, type PolicyReason } from "../../../src/controller/controllers/policy-reasons.ts";

const doc = readFileSync(new URL("../../../docs/conditions.md", import.meta.url), "utf8");
const reasons = Object.keys(PolicyReasons) as PolicyReason[];

describe("the policy kinds' reasons", () => {
  it("are documented in docs/conditions.md, with their condition types", () => {
    expect(reasons.filter((r) => !doc.includes(`| \`${r}\` |`))).toEqual([]);
    for (const type of PolicyConditionTypes) expect(doc).toContain(`| \`${type}\` |`);
  });

  it("are CamelCase, and every False reason is a Warning Event", () => {
    for (const r of reasons) {
      expect(r).toMatch(/^[A-Z][A-Za-z0-9]*$/);
      const { status, event } = PolicyReasons[r];
      expect({ r, event }).toEqual({ r, event: status === "False" ? "Warning" : null });
    }
  });
});
