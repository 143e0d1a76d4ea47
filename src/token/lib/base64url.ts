// Strict base64url (RFC 4648 §5, RFC 7515 §2): the URL-safe alphabet only, no
// padding, no whitespace, and canonical (the unused bits of the last character
// are zero), so every byte string has exactly one accepted encoding.

const VALUES = new Int8Array(128).fill(-1);
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/** Whether `text` is canonical unpadded base64url. */
export function isBase64url(text: string): boolean {
  const length = text.length;
  if (length % 4 === 1) return false;
  let last = 0;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? VALUES[c]! : -1;
    if (v < 0) return false;
    last = v;
  }
  const rest = length % 4;
  if (rest === 2) return (last & 0x0f) === 0;
  if (rest === 3) return (last & 0x03) === 0;
  return true;
}

/** Decodes canonical unpadded base64url; null for anything else. */
export function decodeBase64url(text: string): Buffer | null {
  return isBase64url(text) ? Buffer.from(text, "base64url") : null;
}

export function encodeBase64url(data: Uint8Array | string): string {
  return (typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).toString("base64url");
}
