// Strict base64url (RFC 4648 §5, RFC 7515 §2): the URL-safe alphabet only, no
// padding, no whitespace, and canonical (the unused bits of the last character
// are zero), so every byte string has exactly one accepted encoding.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ONLY_ALPHABET = /^[A-Za-z0-9_-]*$/;

/** Whether `text` is canonical unpadded base64url. */
export function isBase64url(text: string): boolean {
  const rest = text.length % 4;
  if (rest === 1 || !ONLY_ALPHABET.test(text)) return false;
  if (rest === 0) return true;
  const last = ALPHABET.indexOf(text.charAt(text.length - 1));
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Decodes canonical unpadded base64url; null for anything else. */
export function decodeBase64url(text: string): Buffer | null {
  return isBase64url(text) ? Buffer.from(text, "base64url") : null;
}

export function encodeBase64url(data: Uint8Array | string): string {
  return (typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength)).toString("base64url");
}
