// The revocation segments a bundle's head names (bundle segment v1): read through the
// source's SegmentReader, and kept by name and SHA-256 so that a new head naming a
// segment already read does not read it again. Only texts whose SHA-256 is the one a
// head names are kept; whether a head is whole is decided by assembleBundle.

import { bundleSegmentNames } from "../../model/names.ts";
import { segmentDigest, type RevokedSegmentRef } from "../../token/index.ts";

/** How a bundle source reads the segments a head names. */
export interface SegmentReader {
  /** The text of segment `name` (its revoked.json); undefined when it does not exist. Rejects when it cannot be read. */
  read(name: string): Promise<string | undefined>;
  /** Where segment `name` is read, for messages: "ConfigMap acme/keyward-bundle-revoked-3", a file. */
  where(name: string): string;
}

/** What reading the segments of a head gave: each text by name, and why the others could not be read. */
export interface SegmentTexts {
  textOf(name: string): string | undefined;
  /** Read errors by segment name (not a missing segment: that is a text of undefined). */
  readonly errors: ReadonlyMap<string, string>;
  /** Segments read from the source this time (not taken from what was kept). */
  readonly fetched: number;
}

const SLOTS: ReadonlySet<string> = new Set(bundleSegmentNames());

/** Whether `name` is one of the segment slots (keyward-bundle-revoked-1 to -32), the only ConfigMaps a verifier reads segments from. */
export function isSegmentSlot(name: string): boolean {
  return SLOTS.has(name);
}

export class SegmentCache {
  readonly #kept = new Map<string, { sha256: string; text: string }>();

  /** The texts of `refs`: those kept with the same SHA-256 as they are, the others read through `reader`. */
  async read(refs: readonly RevokedSegmentRef[], reader: SegmentReader): Promise<SegmentTexts> {
    const texts = new Map<string, string>();
    const errors = new Map<string, string>();
    const missing = refs.filter((ref) => {
      const kept = this.#kept.get(ref.name);
      if (kept?.sha256 !== ref.sha256) return true;
      texts.set(ref.name, kept.text);
      return false;
    });
    await Promise.all(
      missing.map(async (ref) => {
        try {
          const text = await reader.read(ref.name);
          if (text === undefined) return;
          texts.set(ref.name, text);
          if (segmentDigest(text) === ref.sha256) this.#kept.set(ref.name, { sha256: ref.sha256, text });
        } catch (err) {
          errors.set(ref.name, err instanceof Error ? err.message : String(err));
        }
      }),
    );
    return { textOf: (name) => texts.get(name), errors, fetched: missing.length };
  }

  /** Forgets every segment but those `refs` names (the head in use). */
  keepOnly(refs: readonly RevokedSegmentRef[]): void {
    const named = new Set(refs.map((r) => r.name));
    for (const name of [...this.#kept.keys()]) if (!named.has(name)) this.#kept.delete(name);
  }

  /** Names of the segments kept, for tests and logs. */
  names(): string[] {
    return [...this.#kept.keys()].sort();
  }
}
