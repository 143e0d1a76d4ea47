// The revocation segments a bundle's head names (bundle segment v1): read through the
// source's SegmentReader, checked against the head (SHA-256 of the exact bytes, tenant,
// count) by the token library, and kept parsed by name and SHA-256, so that a new head
// naming a segment already read neither reads nor parses it again (a new revocation
// normally changes only the head: its cost is then that of the head alone).

import { bundleSegmentNames } from "../../model/names.ts";
import { BundleError, segmentRevocations, withSegmentRevocations, type Bundle, type RevokedEntry, type RevokedSegmentRef } from "../../token/index.ts";

/** How a bundle source reads the segments a head names. */
export interface SegmentReader {
  /** The text of segment `name` (its revoked.json); undefined when it does not exist. Rejects when it cannot be read. */
  read(name: string): Promise<string | undefined>;
  /** Where segment `name` is read, for messages: "ConfigMap acme/keyward-bundle-revoked-3", a file. */
  where(name: string): string;
}

/** A head with every segment it names, or the first segment (in the head's order) that is missing or does not match. */
export type Assembled =
  | { kind: "whole"; bundle: Bundle }
  | { kind: "failed"; ref: RevokedSegmentRef; error: BundleError; readError: string | undefined };

const SLOTS: ReadonlySet<string> = new Set(bundleSegmentNames());

/** Whether `name` is one of the segment slots (keyward-bundle-revoked-1 to -32), the only ConfigMaps a verifier reads segments from. */
export function isSegmentSlot(name: string): boolean {
  return SLOTS.has(name);
}

export class SegmentCache {
  readonly #kept = new Map<string, { sha256: string; revoked: readonly RevokedEntry[] }>();

  /**
   * `head` with the revocations of every segment it names (as assembleBundle gives it):
   * those kept with the same SHA-256 as they are, the others read through `reader`
   * and checked. Only segments that match are kept.
   */
  async assemble(head: Bundle, reader: SegmentReader): Promise<Assembled> {
    const refs = head.revokedSegments ?? [];
    const texts = new Map<string, string | undefined>();
    const readErrors = new Map<string, string>();
    await Promise.all(
      refs.filter((ref) => this.#kept.get(ref.name)?.sha256 !== ref.sha256).map(async (ref) => {
        try {
          texts.set(ref.name, await reader.read(ref.name));
        } catch (err) {
          readErrors.set(ref.name, err instanceof Error ? err.message : String(err));
        }
      }),
    );
    const segments: (readonly RevokedEntry[])[] = [];
    for (const ref of refs) {
      const kept = this.#kept.get(ref.name);
      if (kept?.sha256 === ref.sha256) {
        segments.push(kept.revoked);
        continue;
      }
      try {
        // The token library's checks, on this one segment: SHA-256, then parse, tenant, count.
        const revoked = segmentRevocations({ ...head, revokedSegments: [ref] }, () => texts.get(ref.name));
        this.#kept.set(ref.name, { sha256: ref.sha256, revoked });
        segments.push(revoked);
      } catch (err) {
        if (!(err instanceof BundleError)) throw err;
        return { kind: "failed", ref, error: err, readError: readErrors.get(ref.name) };
      }
    }
    return { kind: "whole", bundle: withSegmentRevocations(head, segments) };
  }

  /** Forgets every segment but those `refs` names (the head in use). */
  keepOnly(refs: readonly RevokedSegmentRef[]): void {
    const named = new Set(refs.map((r) => r.name));
    for (const name of [...this.#kept.keys()]) if (!named.has(name)) this.#kept.delete(name);
  }

  /** Names of the segments kept. */
  names(): string[] {
    return [...this.#kept.keys()].sort();
  }
}
