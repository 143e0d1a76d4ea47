import { TokenInputError } from "../errors.ts";
import type { BundleKey, RevokedEntry } from "../types.ts";

/**
 * How long after its `exp` a revoked token stays on the list, in seconds: at
 * least the largest leeway a verifier accepts (MAX_LEEWAY_SECONDS), so a revoked
 * token is never let through within the leeway after its expiry.
 */
export const REVOKED_RETENTION_SECONDS = 300;

/**
 * The revocation entries still needed: an entry is dropped once its token's
 * `exp` plus REVOKED_RETENTION_SECONDS has passed, or when its ApiKey has no key
 * left in `keys` (no key can verify the token any more). Order is kept.
 */
export function pruneRevoked(revoked: readonly RevokedEntry[], keys: readonly BundleKey[], now: Date): RevokedEntry[] {
  return revoked.filter(revocationNeeded(keys, now));
}

/** Whether pruneRevoked keeps a revocation, as a test to apply to many. */
export function revocationNeeded(keys: readonly BundleKey[], now: Date): (r: RevokedEntry) => boolean {
  const nowSeconds = now.getTime() / 1000;
  if (!Number.isFinite(nowSeconds)) throw new TokenInputError("now", "must be a valid Date");
  const withKeys = new Set(keys.map((k) => k.apiKey));
  return (r) => withKeys.has(r.apiKey) && (r.exp === null || r.exp + REVOKED_RETENTION_SECONDS > nowSeconds);
}
