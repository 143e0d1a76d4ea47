import { beforeAll, describe, expect, it } from "vitest";
import {
  BundleError,
  bundleSignerOf,
  generateSigningKey,
  parseTrustSet,
  publicJwkOf,
  readSignatureHeader,
  signBundle,
  verifyBundleSignature,
  type BundleSigner,
  type PrivateJwk,
  type TrustSet,
} from "../../../src/token/index.ts";

const BUNDLE = '{"apiVersion":"keyward.dev/bundle/v1","tenant":"acme","generation":7}';
const AT = Date.parse("2026-12-01T12:00:00Z");

let jwkA: PrivateJwk;
let jwkB: PrivateJwk;
let a: BundleSigner;
let b: BundleSigner;
let trustA: TrustSet;
let trustAB: TrustSet;

const trustText = (...keys: PrivateJwk[]): string => JSON.stringify({ keys: keys.map((k) => ({ ...publicJwkOf(k), publishedAt: "2026-12-01T11:00:00Z" })) });

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BundleError);
    return (err as BundleError).code;
  }
  return "accepted";
}

beforeAll(async () => {
  jwkA = await generateSigningKey("EdDSA");
  jwkB = await generateSigningKey("EdDSA");
  a = bundleSignerOf(jwkA);
  b = bundleSignerOf(jwkB);
  trustA = parseTrustSet(trustText(jwkA));
  trustAB = parseTrustSet(trustText(jwkA, jwkB));
});

describe("signBundle and verifyBundleSignature", () => {
  it("verify a bundle signed with a trusted key and return its kid and signing time", () => {
    const jws = signBundle(BUNDLE, a, AT);
    expect(jws).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
    expect(verifyBundleSignature(BUNDLE, jws, trustA)).toEqual({ kid: a.kid, signedAtMs: AT });
    expect(readSignatureHeader(jws)).toEqual({ kid: a.kid, signedAtMs: AT });
  });

  it("refuse a bundle without a signature with ERR_BUNDLE_UNSIGNED", () => {
    expect(codeOf(() => verifyBundleSignature(BUNDLE, undefined, trustA))).toBe("ERR_BUNDLE_UNSIGNED");
    expect(codeOf(() => verifyBundleSignature(BUNDLE, "", trustA))).toBe("ERR_BUNDLE_UNSIGNED");
  });

  it("refuse a bundle with one byte changed after signing with ERR_BUNDLE_SIGNATURE", () => {
    const jws = signBundle(BUNDLE, a, AT);
    expect(codeOf(() => verifyBundleSignature(BUNDLE.replace('"generation":7', '"generation":8'), jws, trustA))).toBe("ERR_BUNDLE_SIGNATURE");
    expect(codeOf(() => verifyBundleSignature(`${BUNDLE} `, jws, trustA))).toBe("ERR_BUNDLE_SIGNATURE");
  });

  it("refuse a signature whose header was changed (a later signing time) with ERR_BUNDLE_SIGNATURE", () => {
    const jws = signBundle(BUNDLE, a, AT);
    const [, , sig] = jws.split(".");
    const later = Buffer.from(JSON.stringify({ alg: "EdDSA", typ: "keyward-bundle+jws", kid: a.kid, signedAt: "2027-01-01T00:00:00Z" })).toString("base64url");
    expect(codeOf(() => verifyBundleSignature(BUNDLE, `${later}..${sig!}`, trustA))).toBe("ERR_BUNDLE_SIGNATURE");
  });

  it("refuse a bundle signed with a key that is not trusted with ERR_BUNDLE_SIGNATURE_KEY", () => {
    expect(codeOf(() => verifyBundleSignature(BUNDLE, signBundle(BUNDLE, b, AT), trustA))).toBe("ERR_BUNDLE_SIGNATURE_KEY");
  });

  it("refuse a signature made by another key under a trusted kid with ERR_BUNDLE_SIGNATURE", () => {
    const forged = signBundle(BUNDLE, { kid: a.kid, key: b.key }, AT);
    expect(codeOf(() => verifyBundleSignature(BUNDLE, forged, trustAB))).toBe("ERR_BUNDLE_SIGNATURE");
  });

  it("accept bundles signed with either key while both are published (rotation overlap)", () => {
    expect(verifyBundleSignature(BUNDLE, signBundle(BUNDLE, a, AT), trustAB).kid).toBe(a.kid);
    expect(verifyBundleSignature(BUNDLE, signBundle(BUNDLE, b, AT), trustAB).kid).toBe(b.kid);
  });

  it("refuse an attached-payload JWS, unknown header parameters and other algorithms with ERR_BUNDLE_SIGNATURE", () => {
    const jws = signBundle(BUNDLE, a, AT);
    const [h, , s] = jws.split(".") as [string, string, string];
    expect(codeOf(() => verifyBundleSignature(BUNDLE, `${h}.${Buffer.from(BUNDLE).toString("base64url")}.${s}`, trustA))).toBe("ERR_BUNDLE_SIGNATURE");
    const withJku = Buffer.from(JSON.stringify({ alg: "EdDSA", typ: "keyward-bundle+jws", kid: a.kid, signedAt: "2026-12-01T12:00:00Z", jku: "https://x" })).toString("base64url");
    expect(codeOf(() => verifyBundleSignature(BUNDLE, `${withJku}..${s}`, trustA))).toBe("ERR_BUNDLE_SIGNATURE");
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "keyward-bundle+jws", kid: a.kid, signedAt: "2026-12-01T12:00:00Z" })).toString("base64url");
    expect(codeOf(() => verifyBundleSignature(BUNDLE, `${none}..`, trustA))).toBe("ERR_BUNDLE_SIGNATURE");
  });
});

describe("parseTrustSet", () => {
  it("refuse a trust set holding a private key, a wrong kid or another key type with ERR_BUNDLE_TRUST", () => {
    expect(codeOf(() => parseTrustSet(JSON.stringify({ keys: [jwkA] })))).toBe("ERR_BUNDLE_TRUST");
    expect(codeOf(() => parseTrustSet(JSON.stringify({ keys: [{ ...publicJwkOf(jwkA), kid: b.kid }] })))).toBe("ERR_BUNDLE_TRUST");
    expect(codeOf(() => parseTrustSet("{"))).toBe("ERR_BUNDLE_TRUST");
    expect(codeOf(() => parseTrustSet(JSON.stringify({ keys: [{ kty: "EC" }] })))).toBe("ERR_BUNDLE_TRUST");
  });
});
