import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AccessPolicySpec } from "../../../src/api/index.ts";
import { accessPolicyProblems } from "../../../src/controller/controllers/policies.ts";

const spec = (paths: string[], methods: string[] = ["GET"]): AccessPolicySpec => ({ rules: [{ methods: methods as AccessPolicySpec["rules"][number]["methods"], paths }] });

describe("accessPolicyProblems", () => {
  it("finds nothing wrong with a policy the verifier accepts", () => {
    expect(accessPolicyProblems({ rules: [{ methods: ["GET", "HEAD"], paths: ["/api/v0/**", "/health"] }, { effect: "Deny", methods: ["*"], paths: ["/api/v0/admin/*"] }] })).toEqual([]);
  });

  it("names the rule, the pattern and the fix for a path not in normal form", () => {
    expect(accessPolicyProblems(spec(["/ok", "/users/%7Ejane"]))).toEqual([
      expect.stringMatching(/^spec\.rules\[0\]\.paths\[1\] "\/users\/%7Ejane" .*write it as "~jane"/),
    ]);
  });

  it("refuses \"*\" next to other methods, partial wildcards and a \"**\" before the end", () => {
    const problems = accessPolicyProblems({
      rules: [
        { methods: ["*", "GET"], paths: ["/a"] },
        { methods: ["GET"], paths: ["/files/*.csv", "/a/**/b"] },
      ],
    });
    expect(problems).toHaveLength(3);
    expect(problems[0]).toContain("spec.rules[0].methods");
    expect(problems[1]).toContain("spec.rules[1].paths[0]");
    expect(problems[2]).toContain('spec.rules[1].paths[1] "/a/**/b": "**" may only be the last segment');
  });

  it("refuses a policy without rules", () => {
    expect(accessPolicyProblems({ rules: [] })).toEqual(["spec.rules is empty: add at least one rule"]);
  });

  it("accepts every pattern made of plain segments, * and a final **", () => {
    const segment = fc.oneof(fc.constantFrom("*"), fc.stringMatching(/^[a-z0-9_-]{1,8}$/));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.boolean(), (segments, tail) => {
        const path = `/${segments.join("/")}${tail ? "/**" : ""}`;
        expect(accessPolicyProblems(spec([path]))).toEqual([]);
      }),
    );
  });
});
