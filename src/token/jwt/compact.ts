// Parsing of a JWS compact serialization (RFC 7515 §7.1): three strict base64url
// parts, the first two UTF-8 JSON objects. The signature part may be empty
// (an unsecured JWT), so that `alg: none` is refused by the algorithm check.

import { decodeBase64url } from "../lib/base64url.ts";
import { isRecord } from "../lib/describe.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export interface CompactParts {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  /** The bytes the signature covers: `base64url(header) "." base64url(claims)`. */
  signingInput: Buffer;
  signature: Buffer;
}

function jsonObject(part: string): Record<string, unknown> | string {
  const bytes = decodeBase64url(part);
  if (bytes === null) return "is not canonical unpadded base64url";
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch {
    return "is not UTF-8 JSON";
  }
  return isRecord(value) ? value : "is not a JSON object";
}

/** The parts of a compact JWS, or a reason it is not one (never containing the token). */
export function parseCompact(token: string): CompactParts | string {
  const first = token.indexOf(".");
  const second = first < 0 ? -1 : token.indexOf(".", first + 1);
  if (second < 0 || token.indexOf(".", second + 1) >= 0) return "a JWS compact serialization has exactly three dot-separated parts";
  const header = jsonObject(token.slice(0, first));
  if (typeof header === "string") return `the header ${header}`;
  const claims = jsonObject(token.slice(first + 1, second));
  if (typeof claims === "string") return `the claims ${claims}`;
  const signature = decodeBase64url(token.slice(second + 1));
  if (signature === null) return "the signature is not canonical unpadded base64url";
  return { header, claims, signingInput: Buffer.from(token.slice(0, second), "latin1"), signature };
}
