import { TokenInputError } from "../errors.ts";
import { ALGORITHM_OF, isKeyType } from "../lib/jwk.ts";
import type { PrivateJwk, PublicJwk } from "../types.ts";

/**
 * The public half of a key: the public members of its type plus `kid`, `alg` and
 * `use`. Everything else (private members, bundle fields) is left out.
 */
export function publicJwkOf(key: PrivateJwk | PublicJwk): PublicJwk {
  const kty: unknown = key.kty;
  if (!isKeyType(kty)) throw new TokenInputError("kty", `must be "OKP", "EC" or "RSA", not ${JSON.stringify(kty)}`);
  if (key.alg !== ALGORITHM_OF[kty]) {
    throw new TokenInputError("alg", `a ${kty} key signs with ${ALGORITHM_OF[kty]}, not ${JSON.stringify(key.alg)}`);
  }
  const need = (name: "crv" | "x" | "y" | "n" | "e"): string => {
    const value: unknown = key[name];
    if (typeof value !== "string" || value === "") throw new TokenInputError(name, `a ${kty} key needs a "${name}" member`);
    return value;
  };
  switch (kty) {
    case "OKP":
      return { kty, crv: need("crv") as "Ed25519", x: need("x"), kid: key.kid, alg: key.alg, use: "sig" };
    case "EC":
      return { kty, crv: need("crv") as "P-256", x: need("x"), y: need("y"), kid: key.kid, alg: key.alg, use: "sig" };
    case "RSA":
      return { kty, n: need("n"), e: need("e"), kid: key.kid, alg: key.alg, use: "sig" };
  }
}
