// Sharing repeated strings between cached objects. JSON.parse gives every
// object its own copy of every string value: 25,000 cached objects hold 25,000
// copies of "keyward.dev/v1alpha1", of their kind, of the same condition types,
// reasons and messages, and of the few timestamps a burst of writes produced.
// An informer transform that replaces such values by one shared copy saves
// about a kilobyte per object (docs/benchmarks.md, "Scale").

/** The fields whose values repeat across objects of a kind; other strings (names, uids, digests) are left alone. */
const REPEATING_FIELDS = new Set([
  "apiVersion",
  "kind",
  "type",
  "status",
  "reason",
  "message",
  "lastTransitionTime",
  "creationTimestamp",
  "state",
  "alg",
  // A signing key's id: in the ApiKey's status, and in the status, the token Secret (its
  // annotation and digest) and the issued list of each of the key's AccessTokens.
  "kid",
  "keyward.dev/kid",
  // An AccessToken's ApiKey: several tokens per key.
  "apiKeyName",
]);

/** Values longer than this are not shared: a long value is rarely repeated. */
const MAX_LENGTH = 512;

/**
 * An RFC 3339 time ("2026-03-01T00:00:00Z", with fractions or an offset), in any
 * field: the objects written in one second carry the same times, as status
 * fields (issuedAt, expiresAt, the keys' times) as well as in conditions.
 */
function isTime(value: string): boolean {
  return value.length >= 20 && value.length <= 35 && value.charCodeAt(4) === 45 /* - */ && value.charCodeAt(10) === 84 /* T */ && value.charCodeAt(13) === 58 /* : */;
}

/**
 * A bounded pool of strings: `intern` returns the pool's copy of a value, adding
 * it first. When the pool holds `capacity` values it starts again empty, so it
 * never grows without limit; values already shared stay shared.
 */
export class StringPool {
  private readonly values = new Map<string, string>();
  private readonly capacity: number;
  constructor(capacity = 16_384) {
    this.capacity = capacity;
  }

  intern(value: string): string {
    const known = this.values.get(value);
    if (known !== undefined) return known;
    if (this.values.size >= this.capacity) this.values.clear();
    this.values.set(value, value);
    return value;
  }

  get size(): number {
    return this.values.size;
  }
}

/**
 * Replaces, in place, the string values of the repeating fields of `value` (an
 * object fresh from JSON.parse that nothing else holds yet), and every label
 * key and value, by the pool's copies. Returns `value`.
 */
export function internRepeatedStrings<T>(value: T, pool: StringPool): T {
  visit(value, pool, false);
  return value;
}

function visit(value: unknown, pool: StringPool, allStrings: boolean): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === "string") {
        if ((allStrings && v.length <= MAX_LENGTH) || isTime(v)) value[i] = pool.intern(v);
      } else visit(v, pool, allStrings);
    }
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (typeof v === "string") {
      if (((allStrings || REPEATING_FIELDS.has(key)) && v.length <= MAX_LENGTH) || isTime(v)) record[key] = pool.intern(v);
    } else if (typeof v === "object" && v !== null) {
      // Labels repeat across objects as whole sets (app.kubernetes.io/managed-by=keyward, the ApiKey's name).
      visit(v, pool, allStrings || key === "labels" || key === "finalizers");
    }
  }
}
