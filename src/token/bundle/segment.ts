// Revocation segments (bundle segment v1, docs/token-format.md): the part of a
// tenant's revocation list that does not travel in bundle.json. A segment is bound
// to the signed head by the SHA-256 of its exact bytes, so it needs no signature
// of its own, and a segment whose bytes differ is not the one the head names.

import { createHash } from "node:crypto";
import { BundleError } from "../errors.ts";
import { encodeBase64url } from "../lib/base64url.ts";
import { BUNDLE_SEGMENT_API_VERSION, type RevokedEntry, type RevokedSegment } from "../types.ts";
import { validateSegment } from "./validate.ts";

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The segment of `entries` as compact JSON in canonical order (ApiKeys, then
 * jtis, by name), so equal content gives equal text and equal digests. A jti
 * listed twice for one ApiKey is kept once (the later exp wins: a revocation
 * never ends earlier).
 */
export function serializeSegment(tenant: string, entries: readonly RevokedEntry[]): string {
  const byKey = new Map<string, Map<string, number | null>>();
  for (const e of entries) {
    let jtis = byKey.get(e.apiKey);
    if (jtis === undefined) byKey.set(e.apiKey, (jtis = new Map<string, number | null>()));
    const before = jtis.get(e.jti);
    jtis.set(e.jti, before === undefined ? e.exp : before === null || e.exp === null ? null : Math.max(before, e.exp));
  }
  const revoked: Record<string, Record<string, number | null>> = {};
  for (const apiKey of [...byKey.keys()].sort(compare)) {
    const jtis = byKey.get(apiKey)!;
    const out: Record<string, number | null> = {};
    for (const jti of [...jtis.keys()].sort(compare)) out[jti] = jtis.get(jti)!;
    revoked[apiKey] = out;
  }
  return JSON.stringify({ apiVersion: BUNDLE_SEGMENT_API_VERSION, tenant, revoked });
}

/** Parses and validates a segment's text; `where` (its ConfigMap) prefixes the field of any BundleError. */
export function parseSegment(text: string, where: string): RevokedSegment {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BundleError("ERR_BUNDLE_JSON", `${where}:$`, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return validateSegment(value, where);
}

/** base64url(SHA-256(text as UTF-8)), unpadded: what the head's `revokedSegments[].sha256` holds. */
export function segmentDigest(text: string): string {
  return encodeBase64url(createHash("sha256").update(text, "utf8").digest());
}
