import { calculateJwkThumbprint } from "jose";
import { describe, expect, it } from "vitest";
import { ALGORITHMS, generateSigningKey, jwkThumbprint, publicJwkOf, TokenInputError } from "../../../src/token/index.ts";
import type { PublicJwk } from "../../../src/token/index.ts";

// RFC 7638 §3.1: the example RSA key and its thumbprint.
const RFC7638_KEY = {
  kty: "RSA",
  n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  e: "AQAB",
  alg: "RS256",
  kid: "2011-04-29",
  use: "sig",
} satisfies PublicJwk;

describe("jwkThumbprint", () => {
  it("computes the thumbprint of the RFC 7638 §3.1 example key", () => {
    expect(jwkThumbprint(RFC7638_KEY)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  it("computes the thumbprint of the RFC 8037 §A.3 Ed25519 example key", () => {
    const key: PublicJwk = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", kid: "", alg: "EdDSA", use: "sig" };
    expect(jwkThumbprint(key)).toBe("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
  });

  it("ignores members outside the required set, such as kid, alg and private members", () => {
    expect(jwkThumbprint({ ...RFC7638_KEY, kid: "other", d: "secret" })).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  it.each(ALGORITHMS)("agrees with jose for a generated %s key", async (alg) => {
    const key = await generateSigningKey(alg);
    expect(jwkThumbprint(key)).toBe(await calculateJwkThumbprint(publicJwkOf(key), "sha256"));
  });

  it("refuses an unknown key type or a missing member", () => {
    expect(() => jwkThumbprint({ ...RFC7638_KEY, kty: "oct" as "RSA" })).toThrow(TokenInputError);
    const { n: _n, ...noModulus } = RFC7638_KEY;
    expect(() => jwkThumbprint(noModulus as PublicJwk)).toThrow(/needs a "n" member/);
  });
});
