// Request path normalisation: the one canonical form policies are matched against.
//
// - the query (`?…`) and fragment (`#…`) are dropped; the path must start with `/`;
// - percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded,
//   other escapes are kept with upper-case hex;
// - `%2F` and `%5C` (encoded `/` and `\`), a literal `\`, NUL (literal or `%00`),
//   other control characters and malformed escapes are refused;
// - other characters that may not appear literally in a path (RFC 3986 §3.3) are
//   percent-encoded as UTF-8, so that `é` and `%C3%A9` are the same path;
// - empty segments (`//`) and `.` are dropped, `..` removes the segment before
//   it (refused above the root), and there is no trailing slash except for `/`.

import { VerificationError } from "../errors.ts";

const HEX = "0123456789ABCDEF";

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** ALPHA DIGIT - . _ ~ */
function isUnreserved(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/** pchar without pct-encoded: unreserved, sub-delims (! $ & ' ( ) * + , ; =), ":" and "@". */
function isLiteralPathChar(c: number): boolean {
  return isUnreserved(c) || c === 0x21 || c === 0x24 || (c >= 0x26 && c <= 0x2c) || c === 0x3b || c === 0x3d || c === 0x3a || c === 0x40;
}

function invalid(reason: string): VerificationError {
  return new VerificationError("ERR_PATH_INVALID", `the request path ${reason}`);
}

function escaped(byte: number): string {
  return `%${HEX[byte >> 4]!}${HEX[byte & 0x0f]!}`;
}

/** Whether raw[start, end) is a segment that normalisation keeps as it is: not empty, not "." or "..". */
function isPlainSegment(raw: string, start: number, end: number): boolean {
  const n = end - start;
  if (n === 0) return false;
  if (raw.charCodeAt(start) !== 0x2e) return true;
  return !(n === 1 || (n === 2 && raw.charCodeAt(start + 1) === 0x2e));
}

/**
 * Whether raw[0, end) (starting with "/") is already in normal form: literal characters only
 * (no escapes), and plain segments only. Most request paths are; they are returned as they are.
 */
function isAlreadyNormal(raw: string, end: number): boolean {
  let start = 1;
  for (let i = 1; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2f) {
      if (!isPlainSegment(raw, start, i)) return false;
      start = i + 1;
    } else if (!isLiteralPathChar(c)) {
      return false;
    }
  }
  return isPlainSegment(raw, start, end);
}

/**
 * The normalised form of a request target's path (see the rules above).
 * Throws VerificationError ERR_PATH_INVALID when the path cannot be normalised safely.
 */
export function normalizePath(raw: string): string {
  if (typeof raw !== "string") throw invalid("is not a string");
  let end = raw.length;
  const query = raw.indexOf("?");
  if (query >= 0) end = query;
  const fragment = raw.indexOf("#");
  if (fragment >= 0 && fragment < end) end = fragment;
  if (raw.charCodeAt(0) !== 0x2f) throw invalid("must start with \"/\"");
  if (isAlreadyNormal(raw, end)) return end === raw.length ? raw : raw.slice(0, end);

  const segments: string[] = [];
  let segment = "";
  const close = (): void => {
    if (segment === "" || segment === ".") return;
    if (segment === "..") {
      if (segments.length === 0) throw invalid("goes above the root with \"..\"");
      segments.pop();
      return;
    }
    segments.push(segment);
  };

  for (let i = 1; i < end; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2f) {
      close();
      segment = "";
    } else if (c === 0x25) {
      const high = i + 2 < end ? hexValue(raw.charCodeAt(i + 1)) : -1;
      const low = high < 0 ? -1 : hexValue(raw.charCodeAt(i + 2));
      if (low < 0) throw invalid("has a \"%\" that does not start a two-digit hex escape");
      const byte = high * 16 + low;
      if (byte === 0x2f) throw invalid("contains an encoded \"/\" (%2F)");
      if (byte === 0x5c) throw invalid("contains an encoded \"\\\" (%5C)");
      if (byte === 0) throw invalid("contains an encoded NUL (%00)");
      segment += isUnreserved(byte) ? String.fromCharCode(byte) : escaped(byte);
      i += 2;
    } else if (isLiteralPathChar(c)) {
      segment += raw[i]!;
    } else if (c === 0x5c) {
      throw invalid("contains a \"\\\"");
    } else if (c === 0) {
      throw invalid("contains NUL");
    } else if (c < 0x20 || c === 0x7f) {
      throw invalid("contains a control character");
    } else {
      let codePoint = c;
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < end ? raw.charCodeAt(i + 1) : 0;
        if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) throw invalid("is not valid UTF-16");
        codePoint = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i += 1;
      }
      for (const byte of Buffer.from(String.fromCodePoint(codePoint), "utf8")) segment += escaped(byte);
    }
  }
  close();
  return `/${segments.join("/")}`;
}
