// What each key type looks like in a keyward JWK.

import type { Algorithm, PublicJwk } from "../types.ts";

export type KeyType = PublicJwk["kty"];

/** The algorithm each key type signs with in keyward. */
export const ALGORITHM_OF: Readonly<Record<KeyType, Algorithm>> = { OKP: "EdDSA", EC: "ES256", RSA: "RS256" };

export const KEY_TYPE_OF: Readonly<Record<Algorithm, KeyType>> = { EdDSA: "OKP", ES256: "EC", RS256: "RSA" };

/** The curve each key type uses, if any. */
export const CURVE_OF: Readonly<Record<KeyType, "Ed25519" | "P-256" | undefined>> = { OKP: "Ed25519", EC: "P-256", RSA: undefined };

/** The public key members of each key type, in RFC 7638 (lexicographic) order. */
export const THUMBPRINT_MEMBERS: Readonly<Record<KeyType, readonly ("crv" | "x" | "y" | "n" | "e" | "kty")[]>> = {
  OKP: ["crv", "kty", "x"],
  EC: ["crv", "kty", "x", "y"],
  RSA: ["e", "kty", "n"],
};

/** Members of a JWK that only a private key has (RFC 7518 §6, RFC 8037 §2), and `k` of a symmetric key. */
export const PRIVATE_MEMBERS: readonly string[] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

export function isKeyType(value: unknown): value is KeyType {
  return value === "OKP" || value === "EC" || value === "RSA";
}
