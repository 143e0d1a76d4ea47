// A bundle with its revocation segments: the head (bundle.json, signed) names each
// segment by SHA-256, and the bundle is whole only with every one of them.

import { BundleError } from "../errors.ts";
import type { Bundle, RevokedEntry } from "../types.ts";
import { parseSegment, segmentDigest } from "./segment.ts";

/**
 * Every revocation of the segments `head` names, read through `textOf` (the text of
 * a segment by its name; undefined when it cannot be read). Throws BundleError:
 * ERR_BUNDLE_SEGMENT_MISSING for a segment that cannot be read,
 * ERR_BUNDLE_SEGMENT_DIGEST for one whose bytes, tenant or count are not the ones
 * named, and the codes of parseSegment for one that is not a valid segment.
 */
export function segmentRevocations(head: Pick<Bundle, "tenant" | "generation" | "revokedSegments">, textOf: (name: string) => string | undefined): RevokedEntry[] {
  const out: RevokedEntry[] = [];
  for (const [i, ref] of (head.revokedSegments ?? []).entries()) {
    const field = `revokedSegments[${i}]`;
    const text = textOf(ref.name);
    if (text === undefined) {
      throw new BundleError("ERR_BUNDLE_SEGMENT_MISSING", field, `names the revocation segment ${ref.name}, which cannot be read; the bundle is not whole without it`);
    }
    const digest = segmentDigest(text);
    if (digest !== ref.sha256) {
      throw new BundleError(
        "ERR_BUNDLE_SEGMENT_DIGEST",
        `${field}.sha256`,
        `revocation segment ${ref.name} has SHA-256 ${digest}, not ${ref.sha256} as generation ${head.generation} names: it was changed or belongs to another generation`,
      );
    }
    const segment = parseSegment(text, ref.name);
    if (segment.tenant !== head.tenant) {
      throw new BundleError("ERR_BUNDLE_SEGMENT_DIGEST", `${field}.name`, `revocation segment ${ref.name} is of tenant "${segment.tenant}", not "${head.tenant}"`);
    }
    if (segment.revoked.length !== ref.count) {
      throw new BundleError("ERR_BUNDLE_SEGMENT_DIGEST", `${field}.count`, `revocation segment ${ref.name} holds ${segment.revoked.length} revocations, not ${ref.count}`);
    }
    for (const r of segment.revoked) out.push(r);
  }
  return out;
}

/**
 * The bundle a verifier enforces: `head` with the revocations of its segments in
 * `revoked` (those of ApiKeys the head lists; the others have no key left a token
 * could match). It keeps `revokedSegments`, so it is never written back: the head
 * is what is compared and signed. Throws as segmentRevocations.
 */
export function assembleBundle(head: Bundle, textOf: (name: string) => string | undefined): Bundle {
  if (head.revokedSegments === undefined || head.revokedSegments.length === 0) return head;
  return withSegmentRevocations(head, [segmentRevocations(head, textOf)]);
}

/** assembleBundle from segments already read and checked (segmentRevocations of each). */
export function withSegmentRevocations(head: Bundle, segments: readonly (readonly RevokedEntry[])[]): Bundle {
  const revoked = [...head.revoked];
  for (const segment of segments) for (const r of segment) if (Object.hasOwn(head.apiKeys, r.apiKey)) revoked.push(r);
  return { ...head, revoked };
}
