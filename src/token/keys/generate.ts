import { generateKeyPair } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { TokenInputError } from "../errors.ts";
import { CURVE_OF, KEY_TYPE_OF } from "../lib/jwk.ts";
import { ALGORITHMS } from "../types.ts";
import type { Algorithm, PrivateJwk } from "../types.ts";
import { jwkThumbprint } from "./thumbprint.ts";

const generate = promisify(generateKeyPair);

/** RSA keys keyward generates have a 2048-bit modulus and e = 65537. */
export const RSA_MODULUS_BITS = 2048;

async function privateKeyFor(alg: Algorithm): Promise<KeyObject> {
  switch (alg) {
    case "EdDSA":
      return (await generate("ed25519")).privateKey;
    case "ES256":
      return (await generate("ec", { namedCurve: "P-256" })).privateKey;
    case "RS256":
      return (await generate("rsa", { modulusLength: RSA_MODULUS_BITS, publicExponent: 0x10001 })).privateKey;
  }
}

/**
 * A new signing key as a private JWK: `kid` is its RFC 7638 thumbprint, `alg`
 * the algorithm it signs with, `use` "sig". EdDSA (Ed25519) unless told otherwise.
 */
export async function generateSigningKey(alg: Algorithm = "EdDSA"): Promise<PrivateJwk> {
  if (!ALGORITHMS.includes(alg)) {
    throw new TokenInputError("alg", `must be one of ${ALGORITHMS.join(", ")}, not ${JSON.stringify(alg)}`);
  }
  const exported = (await privateKeyFor(alg)).export({ format: "jwk" });
  const kty = KEY_TYPE_OF[alg];
  const str = (name: string): string => {
    const value: unknown = (exported as Record<string, unknown>)[name];
    if (typeof value !== "string") throw new Error(`node:crypto exported a ${kty} key without "${name}"`);
    return value;
  };
  let members: Omit<PrivateJwk, "kid" | "alg" | "use">;
  switch (kty) {
    case "OKP":
      members = { kty, crv: CURVE_OF.OKP, x: str("x"), d: str("d") };
      break;
    case "EC":
      members = { kty, crv: CURVE_OF.EC, x: str("x"), y: str("y"), d: str("d") };
      break;
    case "RSA":
      members = {
        kty, n: str("n"), e: str("e"), d: str("d"), p: str("p"), q: str("q"), dp: str("dp"), dq: str("dq"), qi: str("qi"),
      };
      break;
  }
  const kid = jwkThumbprint({ ...members, kid: "", alg, use: "sig" });
  return { ...members, kid, alg, use: "sig" };
}
