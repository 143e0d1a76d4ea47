import { describe, expect, it } from "vitest";
import { ALGORITHMS, generateSigningKey, jwkSetOf, publicJwkOf, TokenInputError } from "../../../src/token/index.ts";
import type { PrivateJwk } from "../../../src/token/index.ts";

describe("publicJwkOf", () => {
  it.each(ALGORITHMS)("keeps only the public members, kid, alg and use of a %s key", async (alg) => {
    const key = await generateSigningKey(alg);
    const pub = publicJwkOf(key);
    const expected = { EdDSA: ["kty", "crv", "x"], ES256: ["kty", "crv", "x", "y"], RS256: ["kty", "n", "e"] }[alg];
    expect(Object.keys(pub).sort()).toEqual([...expected, "kid", "alg", "use"].sort());
    expect(JSON.stringify(pub)).not.toContain(key.d);
  });

  it("refuses a key whose alg does not fit its type", async () => {
    const key = await generateSigningKey("EdDSA");
    expect(() => publicJwkOf({ ...key, alg: "RS256" })).toThrow(TokenInputError);
  });

  it("refuses a key missing a public member", async () => {
    const { x: _x, ...key } = await generateSigningKey("ES256");
    expect(() => publicJwkOf(key as PrivateJwk)).toThrow(/needs a "x" member/);
  });
});

describe("jwkSetOf", () => {
  it("is a plain JWK Set without bundle fields or private members, in the given order", async () => {
    const keys = await Promise.all([generateSigningKey("ES256"), generateSigningKey("EdDSA")]);
    const bundleKeys = keys.map((k) => ({ ...k, apiKey: "reporting", state: "active", notAfter: null }));
    const set = jwkSetOf(bundleKeys);
    expect(set).toEqual({ keys: keys.map(publicJwkOf) });
    expect(JSON.stringify(set)).not.toMatch(/"(d|apiKey|state|notAfter)"/);
  });

  it("is empty for no keys", () => {
    expect(jwkSetOf([])).toEqual({ keys: [] });
  });
});
