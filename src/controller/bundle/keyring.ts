// planKeyring: the bundle-signing keys and their trust ConfigMap, from what the
// Secret and the ConfigMap hold now. Pure.
//
// A key's life: it is made and published in the trust ConfigMap; it signs only
// once it has been published for `overlapMs` (verifiers have seen it by then);
// when it takes over, the key before is retired, every tenant bundle is re-signed
// with the new key, and the retired key is withdrawn from the trust ConfigMap
// once no bundle is signed with it any more and `overlapMs` has passed again. The
// very first key signs at once: no verifier can hold a signed bundle yet.

import { formatTime, parseTime } from "../../model/policy/time.ts";
import { signingKeyInUse, trustEntryOf, trustText, type BundleSigningDocument, type BundleSigningKey } from "../../model/bundle/signing.ts";
import type { PrivateJwk } from "../../token/index.ts";

export interface KeyringSettings {
  /** A key signs for this long before a successor is made. */
  rotateEveryMs: number;
  /** A new key is published this long before it signs, and a retired key stays published this long after. */
  overlapMs: number;
}

export interface PlanKeyringInput extends KeyringSettings {
  now: Date;
  /** The Secret's document; null when missing or unreadable (a new key is made). */
  document: BundleSigningDocument | null;
  /** When each published key was first published (the trust ConfigMap). */
  published: ReadonlyMap<string, string>;
  /** The kids that still sign some tenant bundle. */
  signing: ReadonlySet<string>;
  /** A fresh key, when the plan asked for one (`needsKey`). */
  fresh: PrivateJwk | null;
}

export type KeyringPlan =
  | { needsKey: true }
  | {
      needsKey: false;
      document: BundleSigningDocument;
      /** The trust ConfigMap's jwks.json. */
      trust: string;
      /** When the plan changes by time alone; null: never. */
      wakeAt: Date | null;
    };

const ms = (text: string | null): number => (text === null ? NaN : (parseTime(text)?.getTime() ?? NaN));

export function planKeyring(input: PlanKeyringInput): KeyringPlan {
  const now = input.now.getTime();
  const stamp = formatTime(input.now);
  let keys: BundleSigningKey[] = (input.document?.keys ?? []).map((k) => ({ ...k }));
  const wakes: number[] = [];

  let active = signingKeyInUse({ keys });
  const waiting = keys.find((k) => k.activatedAt === null && k.retiredAt === null);
  if (active === null && waiting === undefined) {
    // Nothing signs and nothing waits: the first key (or one after the Secret was lost) signs at once.
    if (input.fresh === null) return { needsKey: true };
    active = { jwk: input.fresh, createdAt: stamp, activatedAt: stamp, retiredAt: null };
    keys.push(active);
  } else if (waiting !== undefined) {
    const published = ms(input.published.get(waiting.jwk.kid) ?? null);
    if (active === null || (!Number.isNaN(published) && published + input.overlapMs <= now)) {
      // Seen by verifiers for the whole overlap (or nothing else can sign): it takes over.
      if (active !== null) active.retiredAt = stamp;
      waiting.activatedAt = stamp;
      active = waiting;
    } else if (!Number.isNaN(published)) {
      wakes.push(published + input.overlapMs);
    }
  } else if (ms(active!.activatedAt) + input.rotateEveryMs <= now) {
    if (input.fresh === null) return { needsKey: true };
    keys.push({ jwk: input.fresh, createdAt: stamp, activatedAt: null, retiredAt: null });
  }
  if (active !== null && !keys.some((k) => k.activatedAt === null)) wakes.push(ms(active.activatedAt) + input.rotateEveryMs);

  // A retired key is withdrawn once nothing is signed with it and the overlap has passed.
  keys = keys.filter((k) => {
    if (k.retiredAt === null) return true;
    const until = ms(k.retiredAt) + input.overlapMs;
    if (until > now) wakes.push(until);
    return until > now || input.signing.has(k.jwk.kid);
  });

  const trust = trustText(keys.map((k) => trustEntryOf(k, input.published.get(k.jwk.kid) ?? stamp)));
  const wake = wakes.filter((w) => Number.isFinite(w));
  return { needsKey: false, document: { keys }, trust, wakeAt: wake.length === 0 ? null : new Date(Math.min(...wake)) };
}
