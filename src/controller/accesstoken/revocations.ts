// What an AccessToken contributes to its tenant's revocation list: once it is
// revoked or being deleted, every token issued for it that a verifier could still
// accept. status.issued is the record of those tokens.

import type { AccessToken, AccessTokenStatusIssued } from "../../api/types.generated.ts";
import { REVOKED_RETENTION_SECONDS, type Bundle, type RevokedEntry } from "../../token/index.ts";
import { parseTime } from "../../model/policy/time.ts";

/** The most tokens status.issued records. */
export const MAX_ISSUED = 16;

/** Whether the AccessToken's tokens belong on the revocation list: spec.revoked, or being deleted. */
export function isRevoking(accessToken: AccessToken): boolean {
  return accessToken.spec.revoked === true || accessToken.metadata.deletionTimestamp !== undefined;
}

/** The expiry of an issued token in seconds since the epoch; null for a token without exp. */
function expSeconds(entry: AccessTokenStatusIssued): number | null {
  if (entry.expiresAt === undefined) return null;
  const at = parseTime(entry.expiresAt);
  return at === null ? null : Math.floor(at.getTime() / 1000);
}

/**
 * The issued tokens a verifier could still accept: not past exp (plus the
 * retention verifiers' leeway needs), and, when `kids` is given, signed by a key
 * the ApiKey still has. A token whose expiry cannot be read is kept.
 */
export function liveIssued(
  issued: readonly AccessTokenStatusIssued[],
  now: Date,
  kids: ReadonlySet<string> | null,
): AccessTokenStatusIssued[] {
  const nowSeconds = now.getTime() / 1000;
  return issued.filter((entry) => {
    const exp = expSeconds(entry);
    if (exp !== null && exp + REVOKED_RETENTION_SECONDS <= nowSeconds) return false;
    return kids === null || kids.has(entry.kid);
  });
}

/** The revocation entries of an AccessToken that is revoked or being deleted; none otherwise. */
export function revocationsOf(accessToken: AccessToken, now: Date, kids: ReadonlySet<string> | null = null): RevokedEntry[] {
  if (!isRevoking(accessToken)) return [];
  return revocationsOfIssued(accessToken.spec.apiKeyName, accessToken.status?.issued ?? [], now, kids);
}

/** The revocation entries of the tokens `issued` names (status.issued, or a token Secret's record) that a verifier could still accept. */
export function revocationsOfIssued(
  apiKey: string,
  issued: readonly AccessTokenStatusIssued[],
  now: Date,
  kids: ReadonlySet<string> | null = null,
): RevokedEntry[] {
  return liveIssued(issued, now, kids).map((entry) => ({ jti: entry.jti, apiKey, exp: expSeconds(entry) }));
}

/** Whether every entry is on the bundle's revocation list (or no longer needed there): the finalizer may go. */
export function revocationsPublished(published: PublishedRevocations | null, entries: readonly RevokedEntry[]): boolean {
  if (entries.length === 0) return true;
  if (published === null) return false;
  return entries.every((e) => published.lists(e.apiKey, e.jti) || !published.keyed.has(e.apiKey));
}

/** What a published bundle says about revocations: which ApiKeys have keys in it, and which revocations it lists. */
export interface PublishedRevocations {
  /** The ApiKeys with a key in the bundle (a token of another can verify nowhere). */
  keyed: ReadonlySet<string>;
  lists(apiKey: string, jti: string): boolean;
}

/** The revocations of a bundle whose list is all in bundle.json. */
export function publishedRevocationsOf(bundle: Bundle): PublishedRevocations {
  const listed = new Set(bundle.revoked.map((r) => `${r.apiKey}\u0000${r.jti}`));
  return { keyed: new Set(bundle.keys.map((k) => k.apiKey)), lists: (apiKey, jti) => listed.has(`${apiKey}\u0000${jti}`) };
}
