// Where each revocation of a tenant goes: into bundle.json (the head, rewritten on
// every change) or into a revocation segment (a ConfigMap of its own, named in
// the head by SHA-256 and rewritten rarely). Pure.
//
// The rules, each chosen so that no revocation is ever left out and a resync of
// the same state plans the same layout (nothing is written at rest):
//
// - A segment the head names stays as it is while at least half of its entries
//   are still wanted. Entries no longer wanted (expired, or of an ApiKey with no
//   key left) stay in it until then: refusing a token nobody can use any more
//   changes no answer.
// - A segment with fewer than half of its entries wanted is compacted: its wanted
//   entries join the loose ones below, and the segment is dropped.
// - Loose revocations (wanted, in no kept segment) stay in the head while there
//   are fewer than `sealAt` of them and the head fits. Otherwise they are sealed:
//   merged with the smallest kept segment when the two fit in one segment, else
//   written as new segments of at most `segmentMaxBytes` each.
// - A segment is only ever written into a free slot: one no head in use names
//   (neither the controller's record nor the tenant's ConfigMap). A verifier still
//   on an older head therefore never reads a slot rewritten under it by accident
//   without noticing: the SHA-256 its head names no longer matches, and it waits
//   for the newer head.
// - With no free slot left, what cannot be sealed stays loose in the head; the
//   caller reports BundleTooLarge if the head then exceeds its limit. Nothing is
//   dropped to make room.

import { segmentDigest, serializeSegment, type RevokedEntry, type RevokedSegmentRef } from "../../token/index.ts";
import { bundleSegmentName, BUNDLE_SEGMENT_SLOTS } from "../../model/names.ts";
import type { SegmentRead } from "./segment-reads.ts";

/** Loose revocations at which they move out of the head into a segment. */
export const DEFAULT_SEAL_AT = 1024;
/** The largest revoked.json a segment is written with: a ConfigMap holds 1 MiB, metadata included. */
export const DEFAULT_SEGMENT_MAX_BYTES = 768 * 1024;

/** A segment the previous head names, read. */
export interface ExistingSegment {
  ref: RevokedSegmentRef;
  text: string;
  read: SegmentRead;
}

export interface SegmentLayoutInput {
  tenant: string;
  /** The revocations outside segments: the previous head's and those of the revoked objects now (any may be in a segment already). */
  loose: readonly RevokedEntry[];
  /** Whether a revocation is still needed (not pruned: docs/token-format.md "Pruning"). */
  needed: (r: RevokedEntry) => boolean;
  /** The segments the previous head names. */
  previous: readonly ExistingSegment[];
  /** Slots a head in use names (the record's and the tenant's): never written. */
  inUse: ReadonlySet<string>;
  /** Seal even below sealAt (the head would not fit with every loose revocation in it). */
  mustSeal: boolean;
  sealAt: number;
  segmentMaxBytes: number;
  /** Slots 1 to this many; BUNDLE_SEGMENT_SLOTS unless set. */
  slots?: number;
}

/** A segment the new head names. */
export interface PlannedSegment {
  ref: RevokedSegmentRef;
  text: string;
  /** A new text in a free slot: written (record copy, then the tenant's slot) before the head. */
  written: boolean;
}

export interface SegmentLayout {
  /** The revocations bundle.json carries itself. */
  head: RevokedEntry[];
  segments: PlannedSegment[];
  /** Loose revocations left in the head because no slot was free. */
  unplaced: number;
}

const keyOf = (r: RevokedEntry): string => `${r.apiKey}\u0000${r.jti}`;

function compare(a: RevokedEntry, b: RevokedEntry): number {
  return a.apiKey < b.apiKey ? -1 : a.apiKey > b.apiKey ? 1 : a.jti < b.jti ? -1 : a.jti > b.jti ? 1 : 0;
}

/** About what one entry adds to revoked.json: `"<jti>":<exp>,` and a share of its ApiKey's name. */
function entryBytes(r: RevokedEntry): number {
  return r.jti.length + 16;
}

export function planSegments(input: SegmentLayoutInput): SegmentLayout {
  const kept: ExistingSegment[] = [];
  const compacted: ExistingSegment[] = [];
  for (const s of input.previous) {
    let live = 0;
    for (const r of s.read.entries) if (input.needed(r)) live++;
    (live > 0 && live * 2 >= s.ref.count ? kept : compacted).push(s);
  }
  const inKept = (r: RevokedEntry): boolean => kept.some((s) => s.read.jtis.get(r.jti) === r.apiKey);
  const wanted = new Map<string, RevokedEntry>();
  for (const list of [input.loose, ...compacted.map((s) => s.read.entries)]) {
    for (const r of list) if (input.needed(r) && !inKept(r)) wanted.set(keyOf(r), r);
  }
  const loose = [...wanted.values()].sort(compare);
  if (loose.length === 0 || (loose.length < input.sealAt && !input.mustSeal)) {
    return { head: loose, segments: kept.map(keptSegment), unplaced: 0 };
  }

  const names = new Set(kept.map((s) => s.ref.name));
  const free: string[] = [];
  for (let slot = 1; slot <= (input.slots ?? BUNDLE_SEGMENT_SLOTS); slot++) {
    const name = bundleSegmentName(slot);
    if (!input.inUse.has(name) && !names.has(name)) free.push(name);
  }
  // Merge into the smallest kept segment when both fit in one.
  let toSeal = loose;
  const looseBytes = loose.reduce((n, r) => n + entryBytes(r), 0);
  const smallest = [...kept].sort((a, b) => a.text.length - b.text.length)[0];
  if (smallest !== undefined && free.length > 0 && smallest.text.length + looseBytes <= input.segmentMaxBytes) {
    kept.splice(kept.indexOf(smallest), 1);
    // Its revocations no longer needed go with it; those still needed move into the merged segment.
    const merged = new Map<string, RevokedEntry>();
    for (const r of smallest.read.entries) if (input.needed(r)) merged.set(keyOf(r), r);
    for (const r of loose) merged.set(keyOf(r), r);
    toSeal = [...merged.values()].sort(compare);
  }
  const segments = kept.map(keptSegment);
  const chunks = chunk(toSeal, input.segmentMaxBytes);
  const head: RevokedEntry[] = [];
  for (const entries of chunks) {
    const name = free.shift();
    if (name === undefined) {
      // No slot left: these stay in the head, whatever that costs (never dropped).
      for (const r of entries) head.push(r);
      continue;
    }
    const text = serializeSegment(input.tenant, entries);
    segments.push({ ref: { name, sha256: segmentDigest(text), count: entries.length }, text, written: true });
  }
  return { head, segments, unplaced: head.length };
}

function keptSegment(s: ExistingSegment): PlannedSegment {
  return { ref: s.ref, text: s.text, written: false };
}

/** Entries in order (each (ApiKey, jti) once), cut so that each piece's revoked.json stays within maxBytes. */
function chunk(entries: readonly RevokedEntry[], maxBytes: number): RevokedEntry[][] {
  const out: RevokedEntry[][] = [];
  let current: RevokedEntry[] = [];
  let bytes = 256;
  let apiKey: string | null = null;
  for (const r of entries) {
    // Entries come sorted by ApiKey: its name is written once per piece, with its braces.
    const n = entryBytes(r) + (r.apiKey === apiKey ? 0 : r.apiKey.length + 8);
    apiKey = r.apiKey;
    if (current.length > 0 && bytes + n > maxBytes) {
      out.push(current);
      current = [];
      bytes = 256 + r.apiKey.length + 8;
    }
    current.push(r);
    bytes += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}
