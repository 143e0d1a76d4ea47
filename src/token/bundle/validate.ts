// Validation of bundle v1 (docs/token-format.md): every field is checked, and the
// first problem is reported as a BundleError naming the field by its JSON path.

import { BundleError } from "../errors.ts";
import type { BundleErrorCode } from "../errors.ts";
import { decodeBase64url } from "../lib/base64url.ts";
import { MAX_RSA_BITS, MIN_RSA_BITS } from "../lib/crypto.ts";
import { describe, isRecord } from "../lib/describe.ts";
import { ALGORITHM_OF, CURVE_OF, isKeyType, PRIVATE_MEMBERS } from "../lib/jwk.ts";
import { isDns1123Label, isDns1123Subdomain } from "../lib/names.ts";
import { parseRfc3339 } from "../lib/rfc3339.ts";
import { jwkThumbprint } from "../keys/thumbprint.ts";
import { pathPatternProblem } from "../policy/pattern.ts";
import { BUNDLE_API_VERSION, BUNDLE_SEGMENT_API_VERSION, KEY_STATES } from "../types.ts";
import type { RevokedSegment } from "../types.ts";
import type { Bundle, BundleApiKey, BundleKey, BundlePolicy, KeyState, PolicyRule, RevokedEntry, RevokedSegmentRef } from "../types.ts";

const TOP_FIELDS = ["apiVersion", "tenant", "issuer", "generation", "generatedAt", "keys", "apiKeys", "policies", "revoked", "revokedSegments"];
const KEY_FIELDS: Readonly<Record<BundleKey["kty"], readonly string[]>> = {
  OKP: ["kty", "crv", "x", "kid", "alg", "use", "apiKey", "state", "notAfter"],
  EC: ["kty", "crv", "x", "y", "kid", "alg", "use", "apiKey", "state", "notAfter"],
  RSA: ["kty", "n", "e", "kid", "alg", "use", "apiKey", "state", "notAfter"],
};
const API_KEY_FIELDS = ["uid", "policies", "suspended", "revokedBefore", "allowNonExpiring"];
const POLICY_FIELDS = ["rules"];
const RULE_FIELDS = ["effect", "methods", "paths"];
const REVOKED_FIELDS = ["jti", "apiKey", "exp"];
const SEGMENT_REF_FIELDS = ["name", "sha256", "count"];
/** "*" or an upper-case HTTP method token. */
const METHOD = /^(?:\*|[A-Z][A-Z0-9_-]*)$/;
const MAX_STRING = 2048;

function fail(field: string, message: string, code: BundleErrorCode = "ERR_BUNDLE_FIELD"): never {
  throw new BundleError(code, field, message);
}

/** `base.name`, or `base["name"]` when the name is not a plain word. */
export function memberPath(base: string, name: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(name)) return base === "$" ? name : `${base}.${name}`;
  return `${base === "$" ? "" : base}[${JSON.stringify(name)}]`;
}

function object(value: unknown, field: string, fields: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) fail(field, `must be an object, not ${describe(value)}`);
  for (const name of Object.keys(value)) {
    if (!fields.includes(name)) fail(memberPath(field, name), `is not a field of bundle v1 (allowed: ${fields.join(", ")})`);
  }
  return value;
}

function map(value: unknown, field: string): Record<string, unknown> {
  if (!isRecord(value)) fail(field, `must be an object, not ${describe(value)}`);
  return value;
}

function array(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(field, `must be an array, not ${describe(value)}`);
  return value;
}

function string(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") fail(field, `must be a non-empty string, not ${describe(value)}`);
  if (value.length > MAX_STRING) fail(field, `must be at most ${MAX_STRING} characters`);
  return value;
}

function boolean(value: unknown, field: string): boolean {
  if (typeof value !== "boolean") fail(field, `must be true or false, not ${describe(value)}`);
  return value;
}

function integer(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    fail(field, `must be a whole number ≥ 0, not ${describe(value)}`);
  }
  return value;
}

function timestamp(value: unknown, field: string): string {
  if (typeof value !== "string" || parseRfc3339(value) === null) {
    fail(field, `must be an RFC 3339 date-time such as "2026-11-29T12:00:00Z", not ${describe(value)}`);
  }
  return value;
}

function nullable<T>(value: unknown, field: string, check: (v: unknown, f: string) => T): T | null {
  return value === null ? null : check(value, field);
}

function base64url(value: unknown, field: string, minBytes: number, maxBytes: number): string {
  const text = string(value, field);
  const bytes = decodeBase64url(text);
  if (bytes === null) fail(field, "must be canonical unpadded base64url");
  if (bytes.length < minBytes || bytes.length > maxBytes) {
    fail(field, minBytes === maxBytes ? `must encode ${minBytes} bytes, not ${bytes.length}` : `must encode ${minBytes} to ${maxBytes} bytes, not ${bytes.length}`);
  }
  if (minBytes !== maxBytes && bytes[0] === 0) fail(field, "must not have leading zero bytes");
  return text;
}

function validatePolicies(value: unknown): Record<string, BundlePolicy> {
  const out: Record<string, BundlePolicy> = {};
  for (const [name, raw] of Object.entries(map(value, "policies"))) {
    const field = memberPath("policies", name);
    if (!isDns1123Subdomain(name)) fail(field, "an AccessPolicy name must be a DNS-1123 subdomain");
    const policy = object(raw, field, POLICY_FIELDS);
    const rules = array(policy.rules, `${field}.rules`).map((rawRule, r): PolicyRule => {
      const ruleField = `${field}.rules[${r}]`;
      const rule = object(rawRule, ruleField, RULE_FIELDS);
      if (rule.effect !== "Allow" && rule.effect !== "Deny") fail(`${ruleField}.effect`, `must be "Allow" or "Deny", not ${describe(rule.effect)}`);
      const methods = array(rule.methods, `${ruleField}.methods`).map((m, i) => {
        if (typeof m !== "string" || !METHOD.test(m)) fail(`${ruleField}.methods[${i}]`, `must be "*" or an upper-case HTTP method, not ${describe(m)}`);
        return m;
      });
      if (methods.length === 0) fail(`${ruleField}.methods`, "must name at least one method (\"*\" for any)");
      const paths = array(rule.paths, `${ruleField}.paths`).map((p, i) => {
        const pattern = string(p, `${ruleField}.paths[${i}]`);
        const problem = pathPatternProblem(pattern);
        if (problem !== null) fail(`${ruleField}.paths[${i}]`, `${JSON.stringify(pattern)} ${problem}`);
        return pattern;
      });
      if (paths.length === 0) fail(`${ruleField}.paths`, "must hold at least one path pattern (\"/**\" for any)");
      return { effect: rule.effect, methods, paths };
    });
    out[name] = { rules };
  }
  return out;
}

function validateApiKeys(value: unknown, policies: Record<string, BundlePolicy>): Record<string, BundleApiKey> {
  const out: Record<string, BundleApiKey> = {};
  for (const [name, raw] of Object.entries(map(value, "apiKeys"))) {
    const field = memberPath("apiKeys", name);
    if (!isDns1123Subdomain(name)) fail(field, "an ApiKey name must be a DNS-1123 subdomain");
    const entry = object(raw, field, API_KEY_FIELDS);
    const uid = string(entry.uid, `${field}.uid`);
    const attached = array(entry.policies, `${field}.policies`).map((p, i) => {
      const policy = string(p, `${field}.policies[${i}]`);
      if (!Object.hasOwn(policies, policy)) {
        fail(`${field}.policies[${i}]`, `names the AccessPolicy "${policy}", which is not in policies`, "ERR_BUNDLE_UNKNOWN_POLICY");
      }
      return policy;
    });
    attached.forEach((p, i) => {
      if (attached.indexOf(p) !== i) fail(`${field}.policies[${i}]`, `lists "${p}" twice`);
    });
    out[name] = {
      uid,
      policies: attached,
      suspended: boolean(entry.suspended, `${field}.suspended`),
      revokedBefore: nullable(entry.revokedBefore, `${field}.revokedBefore`, timestamp),
      allowNonExpiring: boolean(entry.allowNonExpiring, `${field}.allowNonExpiring`),
    };
  }
  return out;
}

function validateKey(raw: unknown, field: string, apiKeys: Record<string, BundleApiKey>): BundleKey {
  if (!isRecord(raw)) fail(field, `must be an object, not ${describe(raw)}`);
  const kty = raw.kty;
  if (!isKeyType(kty)) fail(`${field}.kty`, `must be "OKP", "EC" or "RSA", not ${describe(kty)}`);
  for (const name of Object.keys(raw)) {
    if (PRIVATE_MEMBERS.includes(name)) {
      fail(memberPath(field, name), "is a private key member: a bundle carries public keys only (use publicJwkOf)");
    }
  }
  const entry = object(raw, field, KEY_FIELDS[kty]);
  const alg = ALGORITHM_OF[kty];
  if (entry.alg !== alg) fail(`${field}.alg`, `a ${kty} key must have alg "${alg}", not ${describe(entry.alg)}`);
  const members: Pick<BundleKey, "kty" | "crv" | "x" | "y" | "n" | "e"> = { kty };
  switch (kty) {
    case "OKP":
    case "EC":
      if (entry.crv !== CURVE_OF[kty]) fail(`${field}.crv`, `a ${kty} key must have crv "${CURVE_OF[kty]!}", not ${describe(entry.crv)}`);
      members.crv = CURVE_OF[kty];
      members.x = base64url(entry.x, `${field}.x`, 32, 32);
      if (kty === "EC") members.y = base64url(entry.y, `${field}.y`, 32, 32);
      break;
    case "RSA":
      members.n = base64url(entry.n, `${field}.n`, MIN_RSA_BITS / 8, MAX_RSA_BITS / 8);
      members.e = base64url(entry.e, `${field}.e`, 1, 8);
      break;
  }
  const kid = string(entry.kid, `${field}.kid`);
  const thumbprint = jwkThumbprint({ ...members, kid, alg, use: "sig" });
  if (kid !== thumbprint) fail(`${field}.kid`, `must be the RFC 7638 thumbprint of the key, "${thumbprint}"`);
  if (entry.use !== "sig") fail(`${field}.use`, `must be "sig", not ${describe(entry.use)}`);
  const apiKey = string(entry.apiKey, `${field}.apiKey`);
  if (!Object.hasOwn(apiKeys, apiKey)) fail(`${field}.apiKey`, `names the ApiKey "${apiKey}", which is not in apiKeys`, "ERR_BUNDLE_UNKNOWN_API_KEY");
  const state = entry.state;
  if (!KEY_STATES.includes(state as KeyState)) fail(`${field}.state`, `must be one of ${KEY_STATES.join(", ")}, not ${describe(state)}`);
  let notAfter: string | null = null;
  if (state === "deposed") {
    notAfter = timestamp(entry.notAfter, `${field}.notAfter`);
  } else if (entry.notAfter !== null) {
    fail(`${field}.notAfter`, `must be null for a ${state as string} key (only deposed keys have one), not ${describe(entry.notAfter)}`);
  }
  return { ...members, kid, alg, use: "sig", apiKey, state: state as KeyState, notAfter };
}

function validateRevoked(value: unknown, apiKeys: Record<string, BundleApiKey>): RevokedEntry[] {
  return array(value, "revoked").map((raw, i): RevokedEntry => {
    const field = `revoked[${i}]`;
    const entry = object(raw, field, REVOKED_FIELDS);
    const jti = string(entry.jti, `${field}.jti`);
    const apiKey = string(entry.apiKey, `${field}.apiKey`);
    if (!Object.hasOwn(apiKeys, apiKey)) fail(`${field}.apiKey`, `names the ApiKey "${apiKey}", which is not in apiKeys`, "ERR_BUNDLE_UNKNOWN_API_KEY");
    return { jti, apiKey, exp: nullable(entry.exp, `${field}.exp`, integer) };
  });
}

/** The segments named by the head: each once, by a ConfigMap name, with a SHA-256 and at least one revocation. */
function validateSegmentRefs(value: unknown): RevokedSegmentRef[] {
  const names = new Set<string>();
  return array(value, "revokedSegments").map((raw, i): RevokedSegmentRef => {
    const field = `revokedSegments[${i}]`;
    const entry = object(raw, field, SEGMENT_REF_FIELDS);
    const name = string(entry.name, `${field}.name`);
    if (!isDns1123Subdomain(name)) fail(`${field}.name`, "must be a ConfigMap name (a DNS-1123 subdomain)");
    if (names.has(name)) fail(`${field}.name`, `"${name}" is named twice`);
    names.add(name);
    const sha256 = base64url(entry.sha256, `${field}.sha256`, 32, 32);
    const count = integer(entry.count, `${field}.count`);
    if (count === 0) fail(`${field}.count`, "must be at least 1: an empty segment is not named");
    return { name, sha256, count };
  });
}

/**
 * Checks that `value` is a valid v1 bundle and returns a copy of it. Throws
 * BundleError with the first problem: ERR_BUNDLE_JSON (not an object),
 * ERR_BUNDLE_API_VERSION, ERR_BUNDLE_FIELD (missing, mistyped, unknown or
 * out-of-range field, private key member, kid that is not the key's thumbprint),
 * ERR_BUNDLE_DUPLICATE_KID, ERR_BUNDLE_UNKNOWN_API_KEY, ERR_BUNDLE_UNKNOWN_POLICY.
 */
export function validateBundle(value: unknown): Bundle {
  if (!isRecord(value)) fail("$", `a bundle must be a JSON object, not ${describe(value)}`, "ERR_BUNDLE_JSON");
  if (value.apiVersion !== BUNDLE_API_VERSION) {
    fail("apiVersion", `is ${describe(value.apiVersion)}; this build reads "${BUNDLE_API_VERSION}" only`, "ERR_BUNDLE_API_VERSION");
  }
  const top = object(value, "$", TOP_FIELDS);
  const tenant = string(top.tenant, "tenant");
  if (!isDns1123Label(tenant)) fail("tenant", "must be a namespace name (a DNS-1123 label)");
  const issuer = string(top.issuer, "issuer");
  const generation = integer(top.generation, "generation");
  const generatedAt = timestamp(top.generatedAt, "generatedAt");
  const policies = validatePolicies(top.policies);
  const apiKeys = validateApiKeys(top.apiKeys, policies);
  const seen = new Set<string>();
  const keys = array(top.keys, "keys").map((raw, i) => {
    const key = validateKey(raw, `keys[${i}]`, apiKeys);
    if (seen.has(key.kid)) fail(`keys[${i}].kid`, `"${key.kid}" is already used by another key`, "ERR_BUNDLE_DUPLICATE_KID");
    seen.add(key.kid);
    return key;
  });
  const revoked = validateRevoked(top.revoked, apiKeys);
  const bundle: Bundle = { apiVersion: BUNDLE_API_VERSION, tenant, issuer, generation, generatedAt, keys, apiKeys, policies, revoked };
  if (top.revokedSegments !== undefined) {
    const segments = validateSegmentRefs(top.revokedSegments);
    if (segments.length === 0) fail("revokedSegments", "must name at least one segment, or be left out");
    bundle.revokedSegments = segments;
  }
  return bundle;
}

const SEGMENT_FIELDS = ["apiVersion", "tenant", "revoked"];

/**
 * Checks that `value` is a valid revocation segment (bundle segment v1:
 * `{"apiVersion", "tenant", "revoked": {<apiKey>: {<jti>: exp | null}}}`) and
 * returns its entries, ApiKey by ApiKey in the order given. Throws BundleError
 * with the first problem, its field prefixed with `where`. A segment may name
 * ApiKeys the head no longer lists: their revocations have no key left to match.
 */
export function validateSegment(value: unknown, where: string): RevokedSegment {
  const at = (field: string): string => `${where}:${field}`;
  if (!isRecord(value)) fail(at("$"), `a revocation segment must be a JSON object, not ${describe(value)}`, "ERR_BUNDLE_JSON");
  if (value.apiVersion !== BUNDLE_SEGMENT_API_VERSION) {
    fail(at("apiVersion"), `is ${describe(value.apiVersion)}; this build reads "${BUNDLE_SEGMENT_API_VERSION}" only`, "ERR_BUNDLE_API_VERSION");
  }
  const top = object(value, at("$"), SEGMENT_FIELDS);
  const tenant = string(top.tenant, at("tenant"));
  if (!isDns1123Label(tenant)) fail(at("tenant"), "must be a namespace name (a DNS-1123 label)");
  const revoked: RevokedEntry[] = [];
  for (const [apiKey, raw] of Object.entries(map(top.revoked, at("revoked")))) {
    const field = memberPath(at("revoked"), apiKey);
    if (!isDns1123Subdomain(apiKey)) fail(field, "an ApiKey name must be a DNS-1123 subdomain");
    for (const [jti, exp] of Object.entries(map(raw, field))) {
      const entryField = memberPath(field, jti);
      if (jti === "" || jti.length > MAX_STRING) fail(entryField, `a jti must be 1 to ${MAX_STRING} characters`);
      revoked.push({ jti, apiKey, exp: nullable(exp, entryField, integer) });
    }
  }
  return { apiVersion: BUNDLE_SEGMENT_API_VERSION, tenant, revoked };
}
