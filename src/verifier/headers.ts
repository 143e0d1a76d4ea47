// Header rewriting between client and workload. Works on raw header lists
// ([name, value, name, value, …]) so repeated headers and their order survive.

import type { Identity } from "../token/index.ts";

/** Hop-by-hop headers of RFC 9110 §7.6.1, plus the Proxy-* family and Keep-Alive. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection"]);

export const IDENTITY_HEADERS = {
  apiKey: "x-keyward-api-key",
  tenant: "x-keyward-tenant",
  tokenId: "x-keyward-token-id",
} as const;

const NONE_LISTED: ReadonlySet<string> = new Set();

/** Lower-case names listed in the Connection header(s) of a raw header list. */
function connectionListed(raw: readonly string[]): ReadonlySet<string> {
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== "connection") continue;
    listed ??= new Set<string>();
    for (const token of raw[i + 1]!.split(",")) {
      const name = token.trim().toLowerCase();
      if (name !== "") listed.add(name);
    }
  }
  return listed ?? NONE_LISTED;
}

function isHopByHop(name: string, listed: ReadonlySet<string>): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith("proxy-") || listed.has(name);
}

export interface UpstreamHeaderOptions {
  /** Keep the Authorization header (default: removed). */
  forwardAuthorization: boolean;
  /** Set for a request that goes through: the identity headers to add. */
  identity: Identity | null;
  /** The address of the client, appended to X-Forwarded-For. */
  clientAddress: string | undefined;
  /** "http" (the verifier does not terminate TLS). */
  proto: string;
  /** An Upgrade request: keep `Connection: upgrade` and `Upgrade`. */
  upgrade: boolean;
  /** The HTTP client frames a chunked body itself: leave Transfer-Encoding out (default: kept). */
  rechunked?: boolean;
}

/**
 * The headers of a request as the workload gets them: hop-by-hop headers removed, every
 * incoming X-Keyward-* removed, Authorization removed unless forwarded, X-Forwarded-For
 * appended to, X-Forwarded-Proto and X-Forwarded-Host set, and the identity added.
 *
 * The body's framing is always kept, whatever Connection names: Content-Length as
 * received, or Transfer-Encoding (left out with `rechunked`, for a client that chunks the
 * body again itself). A body sent without framing would be read by the workload as further
 * requests that were never checked.
 */
export function upstreamRequestHeaders(raw: readonly string[], opts: UpstreamHeaderOptions): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  let forwardedFor: string | null = null;
  let host: string | null = null;
  let upgradeValue: string | null = null;
  let contentLength: string | null = null;
  const transferEncoding: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === "content-length") {
      contentLength ??= value;
      continue;
    }
    if (lower === "transfer-encoding") {
      transferEncoding.push(value);
      continue;
    }
    if (lower === "host") {
      host ??= value;
      out.push(name, value);
      continue;
    }
    if (lower.startsWith("x-keyward-")) continue;
    if (lower === "upgrade" && opts.upgrade) {
      upgradeValue = value;
      continue;
    }
    if (isHopByHop(lower, listed)) continue;
    if (lower === "authorization" && !opts.forwardAuthorization) continue;
    if (lower === "x-forwarded-for") {
      forwardedFor = forwardedFor === null ? value : `${forwardedFor}, ${value}`;
      continue;
    }
    if (lower === "x-forwarded-proto" || lower === "x-forwarded-host" || lower === "expect") continue;
    out.push(name, value);
  }
  if (transferEncoding.length > 0) {
    if (opts.rechunked !== true) out.push("transfer-encoding", transferEncoding.join(", "));
  } else if (contentLength !== null) out.push("content-length", contentLength);
  if (opts.clientAddress !== undefined) {
    forwardedFor = forwardedFor === null ? opts.clientAddress : `${forwardedFor}, ${opts.clientAddress}`;
  }
  if (forwardedFor !== null) out.push("x-forwarded-for", forwardedFor);
  out.push("x-forwarded-proto", opts.proto);
  if (host !== null) out.push("x-forwarded-host", host);
  if (opts.upgrade && upgradeValue !== null) out.push("connection", "upgrade", "upgrade", upgradeValue);
  if (opts.identity !== null) {
    out.push(IDENTITY_HEADERS.apiKey, opts.identity.apiKey, IDENTITY_HEADERS.tenant, opts.identity.tenant, IDENTITY_HEADERS.tokenId, opts.identity.jti);
  }
  return out;
}

/** The identity headers of an allowed request, as a raw list. */
export function identityHeaders(identity: Identity): string[] {
  return [IDENTITY_HEADERS.apiKey, identity.apiKey, IDENTITY_HEADERS.tenant, identity.tenant, IDENTITY_HEADERS.tokenId, identity.jti];
}

/** The headers of a response as the client gets them: hop-by-hop headers removed (except for a 101). */
export function clientResponseHeaders(raw: readonly string[], upgrade = false): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  let upgradeValue: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (upgrade && lower === "upgrade") {
      upgradeValue = raw[i + 1]!;
      continue;
    }
    if (isHopByHop(lower, listed)) continue;
    out.push(name, raw[i + 1]!);
  }
  if (upgrade && upgradeValue !== null) out.push("Connection", "Upgrade", "Upgrade", upgradeValue);
  return out;
}

/** The raw value of the first header named `lower` (already lower case), or undefined. */
export function firstHeader(raw: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === lower) return raw[i + 1];
  }
  return undefined;
}

/**
 * The first of `lowerNames` (already lower case, at most 31) that occurs more than once, in
 * the order of `lowerNames`, or null; one pass over the headers whatever their number.
 */
export function repeatedHeader(raw: readonly string[], lowerNames: readonly string[]): string | null {
  let seen = 0;
  let repeated = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const n = lowerNames.indexOf(raw[i]!.toLowerCase());
    if (n < 0) continue;
    const bit = 1 << n;
    if ((seen & bit) !== 0) repeated |= bit;
    seen |= bit;
  }
  if (repeated === 0) return null;
  for (let n = 0; n < lowerNames.length; n++) if ((repeated & (1 << n)) !== 0) return lowerNames[n]!;
  return null;
}

/** How many times header `lower` occurs. */
export function countHeader(raw: readonly string[], lower: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === lower) n++;
  return n;
}

/**
 * The path of an origin-form request target ("/a/b?x" → "/a/b"), or null for any other
 * form, and for a target with a fragment: a request target never carries one (RFC 9112
 * §3.2), and a workload might not cut the path there as the check would.
 */
export function targetPath(url: string | undefined): string | null {
  if (url === undefined || !url.startsWith("/") || url.includes("#")) return null;
  const q = url.indexOf("?");
  return q >= 0 ? url.slice(0, q) : url;
}
