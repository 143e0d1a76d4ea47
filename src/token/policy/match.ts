// Access policy evaluation: deny by default, an explicit Deny wins over any Allow.

import { TokenInputError } from "../errors.ts";
import { Lru } from "../lib/lru.ts";
import type { BundlePolicy, RuleEffect } from "../types.ts";
import { compilePathPattern } from "./pattern.ts";
import type { PathMatcher } from "./pattern.ts";

/** The rule that decided a request: `index` is its position in the policy's `rules`. */
export interface MatchedRule {
  policy: string;
  index: number;
  effect: RuleEffect;
}

export interface PolicyDecision {
  allowed: boolean;
  /** The Deny rule that matched, else the first Allow rule that matched, else null (denied by default). */
  rule: MatchedRule | null;
}

export interface CompiledRule {
  readonly rule: MatchedRule;
  /** Upper-case methods; null means any method (`*`). */
  readonly methods: ReadonlySet<string> | null;
  readonly paths: readonly PathMatcher[];
}

export interface CompiledPolicy {
  readonly name: string;
  readonly rules: readonly CompiledRule[];
}

const patternCache = new Lru<string, PathMatcher>(4096);

function matcherFor(pattern: string): PathMatcher {
  let matcher = patternCache.get(pattern);
  if (matcher === undefined) {
    matcher = compilePathPattern(pattern);
    patternCache.set(pattern, matcher);
  }
  return matcher;
}

/**
 * Compiles a policy's rules once. Methods are upper-cased. Throws TokenInputError
 * naming the rule field (`rules[0].paths[1]`) for an invalid pattern.
 */
export function compilePolicy(name: string, policy: BundlePolicy): CompiledPolicy {
  const rules = policy.rules.map((rule, index): CompiledRule => {
    const methods = rule.methods.map((m) => m.toUpperCase());
    const paths = rule.paths.map((pattern, p) => {
      try {
        return matcherFor(pattern);
      } catch (e) {
        throw new TokenInputError(`rules[${index}].paths[${p}]`, `${JSON.stringify(pattern)} ${e instanceof Error ? e.message : String(e)}`);
      }
    });
    return { rule: { policy: name, index, effect: rule.effect }, methods: methods.includes("*") ? null : new Set(methods), paths };
  });
  return { name, rules };
}

function anyMatches(paths: readonly PathMatcher[], path: string): boolean {
  for (const matches of paths) if (matches(path)) return true;
  return false;
}

/** Evaluates compiled policies for a method and an already normalised path. */
export function matchCompiled(policies: readonly CompiledPolicy[], method: string, path: string): PolicyDecision {
  const upper = method.toUpperCase();
  let allow: MatchedRule | null = null;
  for (const policy of policies) {
    for (const compiled of policy.rules) {
      if (compiled.rule.effect === "Allow" && allow !== null) continue;
      if (compiled.methods !== null && !compiled.methods.has(upper)) continue;
      if (!anyMatches(compiled.paths, path)) continue;
      if (compiled.rule.effect === "Deny") return { allowed: false, rule: compiled.rule };
      allow = compiled.rule;
    }
  }
  return { allowed: allow !== null, rule: allow };
}

/**
 * Whether the policies allow `method` on `path` (already normalised): denied
 * unless a rule allows it, and denied whenever a Deny rule matches. Methods match
 * upper-case, `*` is any method, `HEAD` is not implied by `GET`. Patterns are
 * compiled once and cached.
 */
export function matchPolicies(
  policies: readonly { name: string; policy: BundlePolicy }[],
  method: string,
  path: string,
): PolicyDecision {
  return matchCompiled(policies.map(({ name, policy }) => compilePolicy(name, policy)), method, path);
}
