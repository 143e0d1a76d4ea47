// Revocation segments as the controller holds them: read, checked against the
// reference that names them (SHA-256, tenant, count) and indexed once per text,
// by tenant and slot. A segment holds tens of thousands of revocations and is
// planned against, and asked about, on every change of its tenant's bundle; it
// changes only when it is rewritten.

import { BundleError, segmentRevocations, type Bundle, type RevokedEntry, type RevokedSegmentRef } from "../../token/index.ts";

/** A segment read and indexed. */
export interface SegmentRead {
  entries: readonly RevokedEntry[];
  /** jti → its ApiKey (a jti is 128 random bits: one ApiKey per jti). */
  jtis: ReadonlyMap<string, string>;
  /** The exp below which half of its revocations have expired (by position, nulls not counted); null when none has an exp there. */
  medianExp: number | null;
}

const reads = new Map<string, { sha256: string; text: string; read: SegmentRead | null }>();

/** The segment `ref` of `head`'s tenant read from `text`; null when `text` is not the segment `ref` names. */
export function readSegment(head: Pick<Bundle, "tenant" | "generation">, ref: RevokedSegmentRef, text: string): SegmentRead | null {
  const id = `${head.tenant}\u0000${ref.name}`;
  const known = reads.get(id);
  if (known !== undefined && known.sha256 === ref.sha256 && known.text === text) return known.read;
  let read: SegmentRead | null;
  try {
    const entries = segmentRevocations({ tenant: head.tenant, generation: head.generation, revokedSegments: [ref] }, () => text);
    const jtis = new Map<string, string>();
    for (const r of entries) jtis.set(r.jti, r.apiKey);
    const exps = entries.map((r) => r.exp).filter((e): e is number => e !== null).sort((a, b) => a - b);
    read = { entries, jtis, medianExp: exps[Math.floor(ref.count / 2)] ?? null };
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    read = null;
  }
  reads.set(id, { sha256: ref.sha256, text, read });
  return read;
}
