import { createHash } from "node:crypto";
import { TokenInputError } from "../errors.ts";
import { isKeyType, THUMBPRINT_MEMBERS } from "../lib/jwk.ts";
import type { PrivateJwk, PublicJwk } from "../types.ts";

/**
 * The RFC 7638 JWK thumbprint: base64url SHA-256 of the required public members
 * in lexicographic order, without whitespace. keyward uses it as the `kid`.
 * Throws TokenInputError if the key type is not OKP, EC or RSA or a member is missing.
 */
export function jwkThumbprint(jwk: PublicJwk | PrivateJwk): string {
  const kty: unknown = jwk.kty;
  if (!isKeyType(kty)) throw new TokenInputError("kty", `must be "OKP", "EC" or "RSA", not ${JSON.stringify(kty)}`);
  const members: Record<string, string> = {};
  for (const name of THUMBPRINT_MEMBERS[kty]) {
    const value: unknown = jwk[name];
    if (typeof value !== "string" || value === "") {
      throw new TokenInputError(name, `a ${kty} key needs a "${name}" member to compute its RFC 7638 thumbprint`);
    }
    members[name] = value;
  }
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}
