// IssuedToken: the record of a token the token service handed out (never the
// token). Named after its ApiKey and a hash of its jti, owned by the ApiKey (the
// garbage collector removes it with the ApiKey), labelled with the ApiKey.
// Setting spec.revoked puts the jti on the tenant's revocation list; the
// controller deletes the record once the token has expired.

import { createHash } from "node:crypto";
import type { ApiKey, IssuedToken } from "../api/types.generated.ts";
import { API_VERSION } from "../api/types.generated.ts";
import { REVOKED_RETENTION_SECONDS, type RevokedEntry } from "../token/index.ts";
import { API_KEY_LABEL, MANAGED_BY, MANAGED_BY_LABEL } from "./names.ts";

/** Hex characters of sha256(jti) in the name: 40 bits, unique among the live tokens of one ApiKey. */
const NAME_HASH_LENGTH = 10;

/** `<apikey>-<first 10 hex of sha256(jti)>`. */
export function issuedTokenName(apiKeyName: string, jti: string): string {
  return `${apiKeyName}-${createHash("sha256").update(jti, "utf8").digest("hex").slice(0, NAME_HASH_LENGTH)}`;
}

export interface IssuedTokenInput {
  apiKey: ApiKey;
  jti: string;
  kid: string;
  /** Seconds since the epoch. */
  issuedAt: number;
  /** Seconds since the epoch; null for a token without exp. */
  expiresAt: number | null;
  /** "ApiKey <ns>/<name>" or "oauth2-client <ns>/<name>". */
  issuedBy: string;
}

function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The IssuedToken to create for a token just signed. */
export function issuedTokenObject(input: IssuedTokenInput): IssuedToken {
  const name = input.apiKey.metadata.name ?? "";
  const namespace = input.apiKey.metadata.namespace ?? "";
  return {
    apiVersion: API_VERSION,
    kind: "IssuedToken",
    metadata: {
      name: issuedTokenName(name, input.jti),
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [API_KEY_LABEL]: name },
      ownerReferences: [
        { apiVersion: API_VERSION, kind: "ApiKey", name, uid: input.apiKey.metadata.uid ?? "", controller: true, blockOwnerDeletion: false },
      ],
    },
    spec: {
      apiKeyName: name,
      jti: input.jti,
      kid: input.kid,
      issuedAt: rfc3339(input.issuedAt),
      ...(input.expiresAt === null ? {} : { expiresAt: rfc3339(input.expiresAt) }),
      issuedBy: input.issuedBy,
      revoked: false,
    },
  };
}

/** The token's exp in seconds; null for a token without exp; undefined when expiresAt cannot be read. */
function expSeconds(record: IssuedToken): number | null | undefined {
  const text = record.spec.expiresAt;
  if (text === undefined) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/**
 * The revocation entries of IssuedTokens that are revoked and whose token a
 * verifier could still accept: not past exp plus REVOKED_RETENTION_SECONDS (the
 * verifiers' largest leeway). A record whose expiry cannot be read is kept.
 * Sorted by ApiKey and jti, so the bundle does not change with list order.
 */
export function revocationsFromIssuedTokens(list: readonly IssuedToken[], now: Date): RevokedEntry[] {
  const nowSeconds = now.getTime() / 1000;
  const entries: RevokedEntry[] = [];
  for (const record of list) {
    if (record.spec.revoked !== true) continue;
    const exp = expSeconds(record);
    if (typeof exp === "number" && exp + REVOKED_RETENTION_SECONDS <= nowSeconds) continue;
    entries.push({ jti: record.spec.jti, apiKey: record.spec.apiKeyName, exp: exp ?? null });
  }
  return entries.sort((a, b) => (a.apiKey === b.apiKey ? cmp(a.jti, b.jti) : cmp(a.apiKey, b.apiKey)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface IssuedTokenCleanup {
  /** Records whose token expired more than REVOKED_RETENTION_SECONDS ago: delete them (with the uid as precondition). */
  expired: { namespace: string; name: string; uid: string }[];
  /** When the next record expires past the retention; null when none will. */
  nextAt: Date | null;
}

/**
 * Which IssuedTokens the controller deletes now, and when to look again. A
 * revoked record is deleted at the same time as any other: by then no verifier
 * accepts its token, and the bundle drops the entry at the same moment.
 */
export function planIssuedTokenCleanup(list: readonly IssuedToken[], now: Date): IssuedTokenCleanup {
  const nowSeconds = now.getTime() / 1000;
  const expired: IssuedTokenCleanup["expired"] = [];
  let next: number | null = null;
  for (const record of list) {
    if (record.metadata.deletionTimestamp !== undefined) continue;
    const exp = expSeconds(record);
    if (typeof exp !== "number") continue;
    const gone = exp + REVOKED_RETENTION_SECONDS;
    if (gone <= nowSeconds) {
      expired.push({ namespace: record.metadata.namespace ?? "", name: record.metadata.name ?? "", uid: record.metadata.uid ?? "" });
    } else if (next === null || gone < next) {
      next = gone;
    }
  }
  return { expired, nextAt: next === null ? null : new Date(next * 1000) };
}

/** The audit fields of a revocation, when `after` is the first state of the record with spec.revoked set; null otherwise. */
export function revocationOf(before: IssuedToken | null, after: IssuedToken): { apiKey: string; tenant: string; jti: string; kid: string; issuedBy: string } | null {
  if (after.spec.revoked !== true || before?.spec.revoked === true) return null;
  return {
    apiKey: after.spec.apiKeyName,
    tenant: after.metadata.namespace ?? "",
    jti: after.spec.jti,
    kid: after.spec.kid,
    issuedBy: after.spec.issuedBy,
  };
}
