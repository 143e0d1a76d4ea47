// node:crypto plumbing for the three algorithms: import JWKs as KeyObjects,
// sign and verify JWS signatures (ES256 as raw r||s, RFC 7518 §3.4).

import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import type { KeyObject, VerifyKeyObjectInput } from "node:crypto";
import type { Algorithm, PrivateJwk, PublicJwk } from "../types.ts";

/** The smallest RSA modulus keyward accepts (RFC 7518 §3.3). */
export const MIN_RSA_BITS = 2048;
/** The largest RSA modulus keyward accepts: bounds the cost of a verification. */
export const MAX_RSA_BITS = 8192;

/** A public key ready for `verifySignature`. */
export interface VerifyingKey {
  readonly alg: Algorithm;
  readonly keyObject: KeyObject;
  readonly input: KeyObject | VerifyKeyObjectInput;
  readonly digest: "sha256" | null;
  readonly signatureLength: number;
}

function checkKeyObject(alg: Algorithm, key: KeyObject): string | null {
  const details = key.asymmetricKeyDetails ?? {};
  switch (alg) {
    case "EdDSA":
      return key.asymmetricKeyType === "ed25519" ? null : "is not an Ed25519 key";
    case "ES256":
      return key.asymmetricKeyType === "ec" && details.namedCurve === "prime256v1" ? null : "is not a P-256 key";
    case "RS256": {
      if (key.asymmetricKeyType !== "rsa") return "is not an RSA key";
      const bits = details.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) return `has a ${bits}-bit modulus; keyward accepts ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits`;
      return null;
    }
  }
}

function publicMembers(jwk: PublicJwk): Record<string, string> {
  const out: Record<string, string> = { kty: jwk.kty };
  for (const m of ["crv", "x", "y", "n", "e"] as const) {
    const v = jwk[m];
    if (v !== undefined) out[m] = v;
  }
  return out;
}

/** Imports the public half of a JWK for `alg`; throws an Error saying what is wrong. */
export function importVerifyingKey(jwk: PublicJwk, alg: Algorithm): VerifyingKey {
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: publicMembers(jwk), format: "jwk" });
  } catch (e) {
    throw new Error(`cannot be imported (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const problem = checkKeyObject(alg, keyObject);
  if (problem !== null) throw new Error(problem);
  const signatureLength = alg === "RS256" ? Math.ceil((keyObject.asymmetricKeyDetails?.modulusLength ?? 0) / 8) : 64;
  return {
    alg,
    keyObject,
    input: alg === "ES256" ? { key: keyObject, dsaEncoding: "ieee-p1363" } : keyObject,
    digest: alg === "EdDSA" ? null : "sha256",
    signatureLength,
  };
}

/** Imports a private JWK for signing with `alg`; throws an Error saying what is wrong. */
export function importSigningKey(jwk: PrivateJwk, alg: Algorithm): KeyObject {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: { ...jwk }, format: "jwk" });
  } catch (e) {
    throw new Error(`cannot be imported (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
  const problem = checkKeyObject(alg, keyObject);
  if (problem !== null) throw new Error(problem);
  return keyObject;
}

/** The JWS signature of `data` (ES256 as raw r||s). */
export function signData(alg: Algorithm, key: KeyObject, data: Buffer): Buffer {
  if (alg === "EdDSA") return sign(null, data, key);
  if (alg === "ES256") return sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
  return sign("sha256", data, key);
}

/** Whether `signature` is a valid JWS signature of `data`. Never throws. */
export function verifySignature(key: VerifyingKey, data: Buffer, signature: Buffer): boolean {
  if (signature.length !== key.signatureLength) return false;
  try {
    return verify(key.digest, data, key.input, signature);
  } catch {
    return false;
  }
}
