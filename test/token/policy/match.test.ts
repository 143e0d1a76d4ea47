import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matchPolicies, TokenInputError } from "../../../src/token/index.ts";
import type { BundlePolicy, PolicyRule } from "../../../src/token/index.ts";

function policy(name: string, ...rules: PolicyRule[]): { name: string; policy: BundlePolicy } {
  return { name, policy: { rules } };
}

const allow = (methods: string[], paths: string[]): PolicyRule => ({ effect: "Allow", methods, paths });
const deny = (methods: string[], paths: string[]): PolicyRule => ({ effect: "Deny", methods, paths });

/** The reference semantics of a pattern, segment by segment. */
function reference(pattern: readonly string[], path: readonly string[]): boolean {
  if (pattern.length === 0) return path.length === 0;
  const [head, ...rest] = pattern;
  if (head === "**") return reference(rest, path) || (path.length > 0 && reference(pattern, path.slice(1)));
  if (path.length === 0) return false;
  return (head === "*" || head === path[0]) && reference(rest, path.slice(1));
}

const segmentsOf = (path: string): string[] => (path === "/" ? [] : path.slice(1).split("/"));
const toPath = (segments: readonly string[]): string => `/${segments.join("/")}`;
const patternArb = fc.array(fc.constantFrom("a", "b", "c", "*", "**"), { maxLength: 6 });
const pathArb = fc.array(fc.constantFrom("a", "b", "c"), { maxLength: 7 });
const methodArb = fc.constantFrom("GET", "HEAD", "POST", "DELETE");
const ruleArb = fc.record({
  effect: fc.constantFrom("Allow" as const, "Deny" as const),
  methods: fc.oneof(fc.constant("*").map((m): string[] => [m]), fc.uniqueArray(methodArb, { minLength: 1 }).map((m): string[] => [...m])),
  paths: fc.array(patternArb.map(toPath), { minLength: 1, maxLength: 3 }),
});
const policiesArb = fc.array(fc.array(ruleArb, { maxLength: 4 }), { maxLength: 3 })
  .map((list) => list.map((rules, i) => policy(`p${i}`, ...rules)));

describe("matchPolicies", () => {
  it("denies by default", () => {
    expect(matchPolicies([], "GET", "/")).toEqual({ allowed: false, rule: null });
    expect(matchPolicies([policy("empty")], "GET", "/")).toEqual({ allowed: false, rule: null });
  });

  it("allows what an Allow rule matches and names the rule", () => {
    const decision = matchPolicies([policy("read", allow(["POST"], ["/x"]), allow(["GET"], ["/api/**"]))], "GET", "/api/v0");
    expect(decision).toEqual({ allowed: true, rule: { policy: "read", index: 1, effect: "Allow" } });
  });

  it("lets a matching Deny win over any Allow, whatever their order", () => {
    const denyFirst = [policy("no-admin", deny(["*"], ["/api/admin/**"])), policy("all", allow(["*"], ["/**"]))];
    const allowFirst = [...denyFirst].reverse();
    for (const policies of [denyFirst, allowFirst]) {
      expect(matchPolicies(policies, "GET", "/api/admin/users")).toEqual({ allowed: false, rule: { policy: "no-admin", index: 0, effect: "Deny" } });
      expect(matchPolicies(policies, "GET", "/api/rows").allowed).toBe(true);
    }
  });

  it("matches methods upper-case, with * for any method", () => {
    const policies = [policy("p", allow(["GET"], ["/a"]), allow(["*"], ["/b"]))];
    expect(matchPolicies(policies, "get", "/a").allowed).toBe(true);
    expect(matchPolicies(policies, "POST", "/a").allowed).toBe(false);
    expect(matchPolicies(policies, "PATCH", "/b").allowed).toBe(true);
  });

  it("does not imply HEAD from GET", () => {
    const policies = [policy("p", allow(["GET"], ["/**"]))];
    expect(matchPolicies(policies, "HEAD", "/a").allowed).toBe(false);
    expect(matchPolicies([policy("p", allow(["GET", "HEAD"], ["/**"]))], "HEAD", "/a").allowed).toBe(true);
  });

  it("refuses an invalid pattern, naming the rule field", () => {
    expect(() => matchPolicies([policy("p", allow(["GET"], ["/ok", "/bad/"]))], "GET", "/ok")).toThrow(TokenInputError);
    expect(() => matchPolicies([policy("p", allow(["GET"], ["/ok", "/bad/"]))], "GET", "/ok")).toThrow(/rules\[0\]\.paths\[1\]/);
  });

  it("matches * as exactly one segment and ** as any number, like the reference semantics", () => {
    fc.assert(fc.property(patternArb, pathArb, (pattern, path) => {
      const decision = matchPolicies([policy("p", allow(["GET"], [toPath(pattern)]))], "GET", toPath(path));
      expect(decision.allowed).toBe(reference(pattern, path));
    }), { numRuns: 3000 });
  });

  it("matches a prefix/** pattern on the prefix and everything below it", () => {
    fc.assert(fc.property(pathArb, pathArb, (prefix, below) => {
      const policies = [policy("p", allow(["GET"], [toPath([...prefix, "**"])]))];
      expect(matchPolicies(policies, "GET", toPath([...prefix, ...below])).allowed).toBe(true);
    }));
  });

  it("decides like the model: any matching Deny denies, else the first matching Allow allows, else denied", () => {
    fc.assert(fc.property(policiesArb, methodArb, pathArb, (policies, method, path) => {
      const matching = policies.flatMap(({ name, policy: p }) =>
        p.rules.flatMap((r, index) =>
          (r.methods.includes("*") || r.methods.includes(method)) && r.paths.some((pt) => reference(segmentsOf(pt), path))
            ? [{ policy: name, index, effect: r.effect }] : []));
      const firstDeny = matching.find((m) => m.effect === "Deny");
      const firstAllow = matching.find((m) => m.effect === "Allow");
      const expected = firstDeny !== undefined
        ? { allowed: false, rule: firstDeny }
        : { allowed: firstAllow !== undefined, rule: firstAllow ?? null };
      expect(matchPolicies(policies, method, toPath(path))).toEqual(expected);
    }), { numRuns: 2000 });
  });
});
