// The verifier's checks, in the order of docs/token-format.md "Verification";
// the first failure decides. Shared by TokenVerifier.verify (hot path, with the
// verified-token cache) and TokenVerifier.explain (every step recorded).

import type { KeyObject } from "node:crypto";
import { VerificationError } from "../errors.ts";
import type { VerificationCode } from "../errors.ts";
import { verifySignature } from "../lib/crypto.ts";
import type { Lru } from "../lib/lru.ts";
import { describe } from "../lib/describe.ts";
import { formatRfc3339 } from "../lib/rfc3339.ts";
import { parseCompact } from "../jwt/compact.ts";
import type { CompactParts } from "../jwt/compact.ts";
import { matchCompiled } from "../policy/match.ts";
import { normalizePath } from "../policy/normalize.ts";
import type { CompiledApiKey, CompiledBundle, CompiledKey } from "./compile.ts";
import type { ExplainStep, FailureContext, RequestInfo, TokenCheckResult, VerifyFailure, VerifyResult } from "./types.ts";

/** A token whose signature verified: its decoded header and claims, and the key that verified it. */
export interface CachedToken {
  /** The whole token: an entry is only used for the very same token. */
  readonly token: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
  readonly key: KeyObject;
}

export interface CheckSettings {
  readonly leewayMs: number;
  /** How long after `iat` the shared (v1) `iss` is accepted. */
  readonly sharedIssuerWindowMs: number;
  readonly maxTokenBytes: number;
  /** null: neither read nor written (explain). */
  readonly cache: Lru<string, CachedToken> | null;
  readonly counters: { hits: number; misses: number };
}

/**
 * The cache key of a token: its last 32 characters, the end of its signature. A fresh
 * token string is hashed on every lookup, and hashing 32 characters costs a fraction of
 * hashing the whole token. The entry found is only used if its whole token is equal, so
 * tokens sharing a key can only evict each other, never stand in for each other.
 */
const CACHE_KEY_CHARS = 32;

function tokenCacheKey(token: string): string {
  return token.length <= CACHE_KEY_CHARS ? token : token.slice(token.length - CACHE_KEY_CHARS);
}

const ACCEPTED_TYP = "at+jwt";
const ACCEPTED_MEDIA_TYP = "application/at+jwt";

function failure(trace: ExplainStep[] | null, step: string, context: FailureContext, code: VerificationCode, message: string): VerifyFailure {
  const error = new VerificationError(code, message);
  trace?.push({ step, ok: false, detail: `${code}: ${message}` });
  return { ok: false, error, context };
}

function invalidClaims(trace: ExplainStep[] | null, context: FailureContext, problem: string): VerifyFailure {
  return failure(trace, "claims", context, "ERR_CLAIMS_INVALID", `the token's claims are invalid: ${problem}`);
}

function isAudience(aud: unknown): aud is string | string[] {
  if (typeof aud === "string") return true;
  if (!Array.isArray(aud) || aud.length === 0) return false;
  for (const a of aud as unknown[]) if (typeof a !== "string") return false;
  return true;
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function iso(seconds: number): string {
  return formatRfc3339(seconds * 1000);
}

function name(value: string): string {
  return value.length > 64 ? `${JSON.stringify(value.slice(0, 64))}…` : JSON.stringify(value);
}

/**
 * Runs the checks. With `request` null, step 6 (path and policy) is skipped and
 * the result is a TokenCheckResult. `trace`, when given, receives every step.
 */
export function runChecks(
  settings: CheckSettings,
  token: string | undefined,
  request: RequestInfo | null,
  bundle: CompiledBundle,
  nowMs: number,
  trace: ExplainStep[] | null,
): VerifyResult | TokenCheckResult {
  const context: FailureContext = {};
  const decoded = decodeToken(settings, token, context, trace);
  if (isFailure(decoded)) return decoded;
  const key = checkHeader(decoded.header, bundle, nowMs, context, trace);
  if (isFailure(key)) return key;
  const unsigned = checkSignature(settings, decoded, key, context, trace);
  if (unsigned !== null) return unsigned;
  const claims = checkClaims(decoded.claims, key, bundle, settings, nowMs, context, trace);
  if (isFailure(claims)) return claims;
  const refused = checkApiKey(claims, bundle, context, trace);
  if (refused !== null) return refused;
  const { sub, jti, iat, exp, apiKey } = claims;
  if (request === null) {
    trace?.push({ step: "policy", ok: true, detail: "skipped: no request method and path given" });
    return { ok: true, identity: { apiKey: sub, tenant: bundle.tenant, jti, kid: key.kid, issuedAt: iat, expiresAt: exp ?? null } };
  }
  const rule = checkPolicy(request, sub, apiKey, context, trace);
  if (isFailure(rule)) return rule;
  return { ok: true, identity: { apiKey: sub, tenant: bundle.tenant, jti, kid: key.kid, issuedAt: iat, expiresAt: exp ?? null, rule } };
}

function isFailure(value: object): value is VerifyFailure {
  return (value as { ok?: unknown }).ok === false;
}

/** A token read: its header and claims, from the cache or parsed. */
interface DecodedToken {
  readonly token: string;
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
  /** Set when parsed here (a cache miss). */
  parts: CompactParts | undefined;
  readonly cached: CachedToken | undefined;
  readonly cacheKey: string;
}

/** 1. A bearer token of bounded size that is a well-formed compact JWS (or one verified before). */
function decodeToken(settings: CheckSettings, token: string | undefined, context: FailureContext, trace: ExplainStep[] | null): DecodedToken | VerifyFailure {
  if (token === undefined || token === "") {
    return failure(trace, "bearer token", context, "ERR_TOKEN_MISSING",
      "the request has no Authorization: Bearer header; send the access token as \"Authorization: Bearer <token>\"");
  }
  if (token.length > settings.maxTokenBytes) {
    return failure(trace, "size", context, "ERR_TOKEN_TOO_LARGE",
      `the token is ${token.length} bytes, more than the limit of ${settings.maxTokenBytes}`);
  }
  trace?.push({ step: "size", ok: true, detail: `${token.length} bytes, within the limit of ${settings.maxTokenBytes}` });
  const cacheKey = settings.cache === null ? "" : tokenCacheKey(token);
  const entry = settings.cache?.get(cacheKey);
  const cached = entry !== undefined && entry.token === token ? entry : undefined;
  if (cached !== undefined) {
    settings.counters.hits++;
    return { token, header: cached.header, claims: cached.claims, parts: undefined, cached, cacheKey };
  }
  if (settings.cache !== null) settings.counters.misses++;
  const parts = parseCompact(token);
  if (typeof parts === "string") return failure(trace, "syntax", context, "ERR_TOKEN_MALFORMED", `the token is malformed: ${parts}`);
  trace?.push({ step: "syntax", ok: true, detail: "a compact JWS with a JSON header and JSON claims" });
  return { token, header: parts.header, claims: parts.claims, parts, cached: undefined, cacheKey };
}

/** 2. The header: typ, kid, alg, nothing else; the key not past its grace period. */
function checkHeader(
  header: Readonly<Record<string, unknown>>,
  bundle: CompiledBundle,
  nowMs: number,
  context: FailureContext,
  trace: ExplainStep[] | null,
): CompiledKey | VerifyFailure {
  const typ = header.typ;
  if (typ !== ACCEPTED_TYP && typ !== ACCEPTED_MEDIA_TYP) {
    return failure(trace, "typ", context, "ERR_TOKEN_TYPE",
      `the token's typ is ${describe(typ)}, not "at+jwt": only keyward access tokens (RFC 9068) are accepted`);
  }
  trace?.push({ step: "typ", ok: true, detail: `"${typ}"` });
  const kid = header.kid;
  if (typeof kid === "string" && kid.length <= 256) context.kid = kid;
  const key = typeof kid === "string" ? bundle.keys.get(kid) : undefined;
  if (key === undefined) {
    return failure(trace, "kid", context, "ERR_KEY_UNKNOWN", typeof kid === "string"
      ? `no key ${name(kid)} in the bundle of tenant "${bundle.tenant}" (generation ${bundle.generation}): the key was dropped or belongs to another tenant; use a token issued with a current key`
      : `the token header has no string "kid"; a keyward token names its signing key in "kid"`);
  }
  context.apiKey = key.apiKey;
  trace?.push({ step: "kid", ok: true, detail: `key ${key.kid} of ApiKey "${key.apiKey}", ${key.state}` });
  if (header.alg !== key.alg) {
    return failure(trace, "alg", context, "ERR_ALG_MISMATCH",
      `the token's alg is ${describe(header.alg)} but key ${key.kid} of ApiKey "${key.apiKey}" signs with ${key.alg}`);
  }
  trace?.push({ step: "alg", ok: true, detail: key.alg });
  for (const parameter in header) {
    if (parameter !== "alg" && parameter !== "typ" && parameter !== "kid") {
      return failure(trace, "header parameters", context, "ERR_HEADER_UNSUPPORTED",
        `the token header has ${name(parameter)}; a keyward token's header holds only alg, typ and kid`);
    }
  }
  trace?.push({ step: "header parameters", ok: true, detail: "alg, typ and kid only" });
  if (key.state === "deposed" && key.notAfterMs !== null && nowMs > key.notAfterMs) {
    return failure(trace, "key validity", context, "ERR_KEY_EXPIRED",
      `key ${key.kid} of ApiKey "${key.apiKey}" was deposed and its grace period ended at ${key.notAfter ?? ""}; use a token issued with the active key`);
  }
  trace?.push({ step: "key validity", ok: true, detail: key.notAfter === null ? key.state : `${key.state} until ${key.notAfter}` });
  return key;
}

/** 3. The signature, unless this very token verified with this very key before; null when it verifies. */
function checkSignature(settings: CheckSettings, decoded: DecodedToken, key: CompiledKey, context: FailureContext, trace: ExplainStep[] | null): VerifyFailure | null {
  if (decoded.cached?.key === key.verifying.keyObject) {
    trace?.push({ step: "signature", ok: true, detail: "verified earlier with this key (cache)" });
    return null;
  }
  const parts = decoded.parts ?? parseCompact(decoded.token);
  if (typeof parts === "string") return failure(trace, "syntax", context, "ERR_TOKEN_MALFORMED", `the token is malformed: ${parts}`);
  if (!verifySignature(key.verifying, parts.signingInput, parts.signature)) {
    return failure(trace, "signature", context, "ERR_SIGNATURE_INVALID",
      `the signature does not verify with key ${key.kid} of ApiKey "${key.apiKey}"; the token was altered or not signed by keyward`);
  }
  settings.cache?.set(decoded.cacheKey, { token: decoded.token, header: Object.freeze(decoded.header), claims: Object.freeze(decoded.claims), key: key.verifying.keyObject });
  trace?.push({ step: "signature", ok: true, detail: `${key.alg} signature verified with key ${key.kid}` });
  return null;
}

/** The claims once checked, and the ApiKey they name (undefined when the bundle has none). */
interface CheckedClaims {
  readonly sub: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number | undefined;
  readonly apiKey: CompiledApiKey | undefined;
}

/** 4. The claims: present and well-typed, the subject, issuer, audience and times. */
function checkClaims(
  claims: Readonly<Record<string, unknown>>,
  key: CompiledKey,
  bundle: CompiledBundle,
  settings: Pick<CheckSettings, "leewayMs" | "sharedIssuerWindowMs">,
  nowMs: number,
  context: FailureContext,
  trace: ExplainStep[] | null,
): CheckedClaims | VerifyFailure {
  const { leewayMs: leeway, sharedIssuerWindowMs } = settings;
  const { iss, sub, client_id: clientId, aud, iat, nbf, exp, jti } = claims;
  if (typeof jti === "string" && jti !== "" && jti.length <= 256) context.jti = jti;
  if (typeof iss !== "string") return invalidClaims(trace, context, "iss must be a string");
  if (typeof sub !== "string") return invalidClaims(trace, context, "sub must be a string");
  if (typeof clientId !== "string") return invalidClaims(trace, context, "client_id must be a string");
  if (!isAudience(aud)) return invalidClaims(trace, context, "aud must be a string or a non-empty array of strings");
  if (!isTime(iat)) return invalidClaims(trace, context, "iat must be a whole number of seconds");
  if (!isTime(nbf)) return invalidClaims(trace, context, "nbf must be a whole number of seconds");
  if (exp !== undefined && !isTime(exp)) return invalidClaims(trace, context, "exp must be a whole number of seconds, or absent");
  if (typeof jti !== "string" || context.jti === undefined) {
    return invalidClaims(trace, context, "jti must be a non-empty string of at most 256 characters");
  }
  trace?.push({ step: "claims", ok: true, detail: "iss, sub, client_id, aud, iat, nbf, jti present and well-typed" });
  if (sub !== key.apiKey || clientId !== sub) {
    return failure(trace, "subject", context, "ERR_KEY_SUBJECT_MISMATCH", sub !== key.apiKey
      ? `key ${key.kid} belongs to ApiKey "${key.apiKey}", but the token's sub is ${name(sub)}`
      : `the token's client_id ${name(clientId)} differs from its sub ${name(sub)}`);
  }
  trace?.push({ step: "subject", ok: true, detail: `sub and client_id are "${sub}", the key's ApiKey` });
  if (iss === bundle.tenantIssuer) {
    trace?.push({ step: "issuer", ok: true, detail: `"${iss}", the issuer of tenant "${bundle.tenant}"` });
  } else if (iss === bundle.issuer) {
    const until = iat * 1000 + sharedIssuerWindowMs;
    if (nowMs >= until) {
      return failure(trace, "issuer", context, "ERR_ISSUER_RETIRED",
        `token ${jti} carries the shared iss "${bundle.issuer}", accepted only until ${new Date(until).toISOString()} (the shared-issuer window after its iat); use a token with iss "${bundle.tenantIssuer}"`);
    }
    trace?.push({ step: "issuer", ok: true, detail: `"${iss}", the shared issuer, accepted until ${new Date(until).toISOString()}` });
  } else {
    return failure(trace, "issuer", context, "ERR_ISSUER_MISMATCH",
      `the token's iss is ${name(iss)}, not "${bundle.tenantIssuer}", the issuer of tenant "${bundle.tenant}"`);
  }
  if (typeof aud === "string" ? aud !== bundle.tenant : !aud.includes(bundle.tenant)) {
    return failure(trace, "audience", context, "ERR_AUDIENCE_MISMATCH",
      `the token's aud does not contain "${bundle.tenant}": it was issued for another tenant`);
  }
  trace?.push({ step: "audience", ok: true, detail: `contains "${bundle.tenant}"` });
  if (exp !== undefined && nowMs >= exp * 1000 + leeway) {
    return failure(trace, "exp", context, "ERR_TOKEN_EXPIRED",
      `token ${jti} of ApiKey "${sub}" expired at ${iso(exp)}; use the renewed token from its AccessToken Secret`);
  }
  trace?.push({ step: "exp", ok: true, detail: exp === undefined ? "none (non-expiring, checked below)" : `expires at ${iso(exp)}` });
  if (nowMs < nbf * 1000 - leeway) {
    return failure(trace, "nbf", context, "ERR_TOKEN_NOT_YET_VALID", `token ${jti} is not valid before ${iso(nbf)}; check the clocks`);
  }
  trace?.push({ step: "nbf", ok: true, detail: `valid from ${iso(nbf)}` });
  if (iat * 1000 > nowMs + leeway) {
    return failure(trace, "iat", context, "ERR_TOKEN_ISSUED_IN_FUTURE", `token ${jti} claims to be issued at ${iso(iat)}, in the future; check the clocks`);
  }
  trace?.push({ step: "iat", ok: true, detail: `issued at ${iso(iat)}` });
  const apiKey = bundle.apiKeys.get(sub);
  if (exp === undefined) {
    if (apiKey?.allowNonExpiring !== true) {
      return failure(trace, "non-expiring", context, "ERR_TOKEN_NO_EXPIRY",
        `token ${jti} has no exp and ApiKey "${sub}" does not allow non-expiring tokens; use a token with an expiry`);
    }
    trace?.push({ step: "non-expiring", ok: true, detail: `ApiKey "${sub}" allows non-expiring tokens` });
  }
  return { sub, jti, iat, exp, apiKey };
}

/** 5. The ApiKey and revocations; null when the token is not refused. */
function checkApiKey(claims: CheckedClaims, bundle: CompiledBundle, context: FailureContext, trace: ExplainStep[] | null): VerifyFailure | null {
  const { sub, jti, iat, apiKey } = claims;
  if (apiKey === undefined) {
    return failure(trace, "api key", context, "ERR_API_KEY_UNKNOWN", `ApiKey "${sub}" is not in the bundle of tenant "${bundle.tenant}"`);
  }
  if (apiKey.suspended) {
    return failure(trace, "api key", context, "ERR_API_KEY_SUSPENDED", `ApiKey "${sub}" is suspended (spec.suspended); unsuspend it to accept its tokens`);
  }
  trace?.push({ step: "api key", ok: true, detail: `ApiKey "${sub}" exists and is not suspended` });
  if (apiKey.revokedBeforeMs !== null && iat * 1000 < apiKey.revokedBeforeMs) {
    return failure(trace, "revoked before", context, "ERR_TOKEN_ISSUED_BEFORE_REVOCATION",
      `token ${jti} was issued at ${iso(iat)}, before ${apiKey.revokedBefore ?? ""}, when the tokens of ApiKey "${sub}" were revoked; use a newer token`);
  }
  trace?.push({ step: "revoked before", ok: true, detail: apiKey.revokedBefore === null ? "no cut-off" : `issued after ${apiKey.revokedBefore}` });
  if (bundle.revoked.has(jti)) {
    return failure(trace, "revocation list", context, "ERR_TOKEN_REVOKED", `token ${jti} of ApiKey "${sub}" is revoked`);
  }
  trace?.push({ step: "revocation list", ok: true, detail: `${jti} is not revoked` });
  return null;
}

/** 6. The policies of the ApiKey allow the method and the normalised path: the rule that allows it. */
function checkPolicy(
  request: RequestInfo,
  sub: string,
  apiKey: CompiledApiKey | undefined,
  context: FailureContext,
  trace: ExplainStep[] | null,
): NonNullable<ReturnType<typeof matchCompiled>["rule"]> | VerifyFailure {
  let path: string;
  try {
    path = normalizePath(request.path);
  } catch (e) {
    if (!(e instanceof VerificationError)) throw e;
    trace?.push({ step: "path", ok: false, detail: `${e.code}: ${e.message}` });
    return { ok: false, error: e, context };
  }
  trace?.push({ step: "path", ok: true, detail: path });
  const method = request.method.toUpperCase();
  const policies = apiKey?.policies ?? [];
  const decision = matchCompiled(policies, method, path);
  if (decision.rule === null || !decision.allowed) {
    if (decision.rule !== null) context.rule = decision.rule;
    return failure(trace, "policy", context, "ERR_POLICY_DENIED", decision.rule !== null
      ? `ApiKey "${sub}" may not ${method} ${path}: rule ${decision.rule.index} of AccessPolicy "${decision.rule.policy}" denies it`
      : `ApiKey "${sub}" may not ${method} ${path}: no rule of its AccessPolicies (${policies.map((p) => p.name).join(", ") || "none attached"}) allows it; add an Allow rule to one of them`);
  }
  trace?.push({ step: "policy", ok: true, detail: `allowed by rule ${decision.rule.index} of AccessPolicy "${decision.rule.policy}"` });
  return decision.rule;
}
