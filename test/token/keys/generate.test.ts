import { createPrivateKey, createPublicKey, sign, verify } from "node:crypto";
import { importJWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { ALGORITHMS, generateSigningKey, issueAccessToken, jwkThumbprint, publicJwkOf, TokenInputError } from "../../../src/token/index.ts";
import type { Algorithm } from "../../../src/token/index.ts";

const PRIVATE_MEMBERS: Record<Algorithm, string[]> = { EdDSA: ["d"], ES256: ["d"], RS256: ["d", "p", "q", "dp", "dq", "qi"] };

describe("generateSigningKey", () => {
  it("generates an Ed25519 key by default", async () => {
    const key = await generateSigningKey();
    expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
  });

  it.each(ALGORITHMS)("generates a %s key whose kid is its RFC 7638 thumbprint", async (alg) => {
    const key = await generateSigningKey(alg);
    expect(key.alg).toBe(alg);
    expect(key.use).toBe("sig");
    expect(key.kid).toBe(jwkThumbprint(key));
    for (const member of PRIVATE_MEMBERS[alg]) expect(typeof (key as unknown as Record<string, unknown>)[member]).toBe("string");
  });

  it.each(ALGORITHMS)("generates a %s key that signs and verifies with node:crypto", async (alg) => {
    const key = await generateSigningKey(alg);
    const data = Buffer.from("keyward");
    const digest = alg === "EdDSA" ? null : "sha256";
    const signature = sign(digest, data, createPrivateKey({ key: { ...key }, format: "jwk" }));
    const publicKey = createPublicKey({ key: { ...publicJwkOf(key) }, format: "jwk" });
    expect(verify(digest, data, publicKey, signature)).toBe(true);
    expect(verify(digest, Buffer.from("keyward!"), publicKey, signature)).toBe(false);
  });

  it.each(ALGORITHMS)("issues %s tokens that jose verifies independently", async (alg) => {
    const key = await generateSigningKey(alg);
    const now = new Date();
    const { token, claims } = await issueAccessToken({ key, issuer: "https://keyward.example", apiKey: "reporting", tenant: "acme", now, lifetimeSeconds: 600 });
    const { payload, protectedHeader } = await jwtVerify(token, await importJWK(publicJwkOf(key), alg), {
      issuer: "https://keyward.example", audience: "acme", typ: "at+jwt", algorithms: [alg], currentDate: now,
    });
    expect(protectedHeader).toEqual({ alg, typ: "at+jwt", kid: key.kid });
    expect(payload).toEqual(claims);
  });

  it("generates a different key each time", async () => {
    const [a, b] = await Promise.all([generateSigningKey(), generateSigningKey()]);
    expect(a.kid).not.toBe(b.kid);
  });

  it("refuses an algorithm keyward does not sign with", async () => {
    await expect(generateSigningKey("HS256" as Algorithm)).rejects.toThrow(TokenInputError);
  });
});
