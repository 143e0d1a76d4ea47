// The canonical form of a bundle: arrays and maps in a fixed order, object
// members in a fixed order. Equal content gives equal canonical forms.

import type { Bundle, BundleApiKey, BundleKey, BundlePolicy, RevokedEntry } from "../types.ts";

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedMap<T>(record: Record<string, T>, copy: (value: T) => T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const name of Object.keys(record).sort(compare)) out[name] = copy(record[name]!);
  return out;
}

function canonicalKey(k: BundleKey): BundleKey {
  const key: Partial<BundleKey> = { kty: k.kty };
  if (k.crv !== undefined) key.crv = k.crv;
  if (k.x !== undefined) key.x = k.x;
  if (k.y !== undefined) key.y = k.y;
  if (k.n !== undefined) key.n = k.n;
  if (k.e !== undefined) key.e = k.e;
  return { ...key, kid: k.kid, alg: k.alg, use: k.use, apiKey: k.apiKey, state: k.state, notAfter: k.notAfter } as BundleKey;
}

function canonicalApiKey(a: BundleApiKey): BundleApiKey {
  return { uid: a.uid, policies: [...a.policies], suspended: a.suspended, revokedBefore: a.revokedBefore, allowNonExpiring: a.allowNonExpiring };
}

function canonicalPolicy(p: BundlePolicy): BundlePolicy {
  return { rules: p.rules.map((r) => ({ effect: r.effect, methods: [...r.methods], paths: [...r.paths] })) };
}

function canonicalRevoked(r: RevokedEntry): RevokedEntry {
  return { jti: r.jti, apiKey: r.apiKey, exp: r.exp };
}

/**
 * A copy of `b` in canonical order: keys by (apiKey, kid), revoked by (apiKey,
 * jti, exp), apiKeys and policies by name; the order of rules and of an ApiKey's
 * policies is meaning and is kept.
 */
export function canonicalBundle(b: Bundle): Bundle {
  const keys = b.keys.map(canonicalKey).sort((x, y) => compare(x.apiKey, y.apiKey) || compare(x.kid, y.kid));
  const revoked = b.revoked
    .map(canonicalRevoked)
    .sort((x, y) => compare(x.apiKey, y.apiKey) || compare(x.jti, y.jti) || (x.exp ?? Infinity) - (y.exp ?? Infinity));
  return {
    apiVersion: b.apiVersion,
    tenant: b.tenant,
    issuer: b.issuer,
    generation: b.generation,
    generatedAt: b.generatedAt,
    keys,
    apiKeys: sortedMap(b.apiKeys, canonicalApiKey),
    policies: sortedMap(b.policies, canonicalPolicy),
    revoked,
    // Left out while every revocation is in `revoked`: such a bundle is the same text as before segments existed.
    ...(b.revokedSegments === undefined || b.revokedSegments.length === 0
      ? {}
      : { revokedSegments: b.revokedSegments.map((s) => ({ name: s.name, sha256: s.sha256, count: s.count })).sort((x, y) => compare(x.name, y.name)) }),
  };
}
