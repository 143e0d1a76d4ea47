import { randomBytes } from "node:crypto";

/** A new token id: 128 random bits, base64url (22 characters). */
export function newJti(): string {
  return randomBytes(16).toString("base64url");
}
