import { beforeAll, describe, expect, it } from "vitest";
import { BundleError, buildBundle, issueAccessToken, jwkThumbprint, TokenInputError, TokenVerifier } from "../../../src/token/index.ts";
import type { Bundle, PrivateJwk } from "../../../src/token/index.ts";
import { bundleInput, bundleKey, HOUR, ISSUER, TENANT_ISSUER, NOW_MS, NOW_S, signingKey, TENANT } from "../support/fixtures.ts";

let ed: PrivateJwk;
let es: PrivateJwk;
let token: string;

beforeAll(async () => {
  [ed, es] = await Promise.all([signingKey("EdDSA"), signingKey("ES256")]);
  token = (await issueAccessToken({ key: ed, issuer: TENANT_ISSUER, apiKey: "reporting", tenant: TENANT, now: new Date(NOW_MS), lifetimeSeconds: HOUR })).token;
});

function bundle(generation = 1, keys = [bundleKey(ed), bundleKey(es)]): Bundle {
  return buildBundle(bundleInput({ keys, generation }));
}

const GET = { method: "GET", path: "/api/v0/rows" };

describe("TokenVerifier.load", () => {
  it("reuses the imported key of a kid across generations", () => {
    const verifier = new TokenVerifier();
    const first = verifier.load(bundle(1));
    const second = verifier.load(bundle(2));
    expect(second.generation).toBe(2);
    expect(second.keys.get(ed.kid)!.verifying).toBe(first.keys.get(ed.kid)!.verifying);
  });

  it("keeps cache hits across generations for a key still in the bundle", () => {
    const verifier = new TokenVerifier();
    expect(verifier.verify(token, GET, verifier.load(bundle(1)), NOW_MS).ok).toBe(true);
    expect(verifier.verify(token, GET, verifier.load(bundle(2)), NOW_MS).ok).toBe(true);
    expect(verifier.stats()).toEqual({ cacheEntries: 1, cacheHits: 1, cacheMisses: 1 });
  });

  it("imports a key again once it has left a tenant's bundle", () => {
    const verifier = new TokenVerifier();
    const first = verifier.load(bundle(1));
    verifier.load(bundle(2, [bundleKey(es)]));
    const third = verifier.load(bundle(3));
    expect(third.keys.get(ed.kid)!.verifying).not.toBe(first.keys.get(ed.kid)!.verifying);
    expect(verifier.verify(token, GET, third, NOW_MS).ok).toBe(true);
  });

  it("throws BundleError for an invalid bundle and keeps the compiled bundle in use working", () => {
    const verifier = new TokenVerifier();
    const good = verifier.load(bundle(1));
    const bad = { ...bundle(2), keys: [{ ...bundleKey(ed), apiKey: "nobody" }] };
    expect(() => verifier.load(bad)).toThrow(BundleError);
    expect(verifier.verify(token, GET, good, NOW_MS).ok).toBe(true);
  });

  it("refuses a bundle key that is not a point of its curve, naming the key", () => {
    const verifier = new TokenVerifier();
    const offCurve = { ...bundleKey(es), y: Buffer.alloc(32, 7).toString("base64url") };
    offCurve.kid = jwkThumbprint(offCurve);
    try {
      verifier.load({ ...bundle(1), keys: [offCurve] });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BundleError);
      expect((e as BundleError).code).toBe("ERR_BUNDLE_FIELD");
      expect((e as BundleError).field).toBe("keys[0]");
    }
  });

  it("returns an immutable compiled bundle", () => {
    const compiled = new TokenVerifier().load(bundle(1));
    expect(Object.isFrozen(compiled)).toBe(true);
    expect(compiled.tenant).toBe(TENANT);
    expect(compiled.issuer).toBe(ISSUER);
  });
});

describe("TokenVerifier options", () => {
  it("uses 30 seconds of leeway, 8192 bytes and 10000 cache entries by default", () => {
    const verifier = new TokenVerifier();
    expect([verifier.leewaySeconds, verifier.maxTokenBytes, verifier.cacheSize]).toEqual([30, 8192, 10_000]);
  });

  it("refuses options out of range", () => {
    expect(() => new TokenVerifier({ leewaySeconds: 301 })).toThrow(TokenInputError);
    expect(() => new TokenVerifier({ leewaySeconds: -1 })).toThrow(TokenInputError);
    expect(() => new TokenVerifier({ maxTokenBytes: 10 })).toThrow(TokenInputError);
    expect(() => new TokenVerifier({ cacheSize: 1.5 })).toThrow(TokenInputError);
  });

  it("applies a leeway of zero exactly", () => {
    const verifier = new TokenVerifier({ leewaySeconds: 0 });
    const compiled = verifier.load(bundle(1));
    expect(verifier.verify(token, GET, compiled, (NOW_S + HOUR) * 1000 - 1).ok).toBe(true);
    const late = verifier.verify(token, GET, compiled, (NOW_S + HOUR) * 1000);
    expect(!late.ok && late.error.code).toBe("ERR_TOKEN_EXPIRED");
  });

  it("bounds the verified-token cache by its size", async () => {
    const verifier = new TokenVerifier({ cacheSize: 2 });
    const compiled = verifier.load(bundle(1));
    for (let i = 0; i < 5; i++) {
      const t = (await issueAccessToken({ key: ed, issuer: TENANT_ISSUER, apiKey: "reporting", tenant: TENANT, now: new Date(NOW_MS), lifetimeSeconds: HOUR })).token;
      expect(verifier.verify(t, GET, compiled, NOW_MS).ok).toBe(true);
    }
    expect(verifier.stats().cacheEntries).toBe(2);
  });

  it("refuses a token that ends like a cached one but differs before, instead of taking the cached entry", async () => {
    const verifier = new TokenVerifier();
    const compiled = verifier.load(bundle(1));
    expect(verifier.verify(token, GET, compiled, NOW_MS).ok).toBe(true);
    // Another token's header and claims in front of the cached token's signature.
    const other = (await issueAccessToken({ key: ed, issuer: TENANT_ISSUER, apiKey: "reporting", tenant: TENANT, now: new Date(NOW_MS), lifetimeSeconds: 2 * HOUR })).token;
    const [h, c] = other.split(".");
    const spliced = `${h!}.${c!}.${token.split(".")[2]!}`;
    const r = verifier.verify(spliced, GET, compiled, NOW_MS);
    expect(r.ok).toBe(false);
    expect(r.ok ? null : r.error.code).toBe("ERR_SIGNATURE_INVALID");
    expect(verifier.stats()).toEqual({ cacheEntries: 1, cacheHits: 0, cacheMisses: 2 });
    // The genuine token still verifies, from the cache.
    expect(verifier.verify(token, GET, compiled, NOW_MS).ok).toBe(true);
    expect(verifier.stats().cacheHits).toBe(1);
  });

  it("keeps no cache with a size of zero", () => {
    const verifier = new TokenVerifier({ cacheSize: 0 });
    const compiled = verifier.load(bundle(1));
    expect(verifier.verify(token, GET, compiled, NOW_MS).ok).toBe(true);
    expect(verifier.verify(token, GET, compiled, NOW_MS).ok).toBe(true);
    expect(verifier.stats()).toEqual({ cacheEntries: 0, cacheHits: 0, cacheMisses: 0 });
  });

  it("empties the cache on request", () => {
    const verifier = new TokenVerifier();
    const compiled = verifier.load(bundle(1));
    verifier.verify(token, GET, compiled, NOW_MS);
    verifier.clearCache();
    expect(verifier.stats().cacheEntries).toBe(0);
  });

  it("throws for a time that is not a finite number rather than skipping the time checks", () => {
    const verifier = new TokenVerifier();
    const compiled = verifier.load(bundle(1));
    expect(() => verifier.verify(token, GET, compiled, Number.NaN)).toThrow(TokenInputError);
  });
});

describe("TokenVerifier.explain", () => {
  it("lists every check in order when the token passes", () => {
    const verifier = new TokenVerifier();
    const { result, steps } = verifier.explain(token, GET, verifier.load(bundle(1)), NOW_MS);
    expect(result.ok).toBe(true);
    expect(steps.map((s) => s.step)).toEqual([
      "size", "syntax", "typ", "kid", "alg", "header parameters", "key validity", "signature", "claims", "subject", "issuer",
      "audience", "exp", "nbf", "iat", "api key", "revoked before", "revocation list", "path", "policy",
    ]);
    expect(steps.every((s) => s.ok)).toBe(true);
  });

  it("ends with the failing step and its code", () => {
    const verifier = new TokenVerifier();
    const { result, steps } = verifier.explain(token, GET, verifier.load(bundle(1)), NOW_MS + 2 * HOUR * 1000);
    expect(!result.ok && result.error.code).toBe("ERR_TOKEN_EXPIRED");
    expect(steps.at(-1)).toMatchObject({ step: "exp", ok: false });
    expect(steps.at(-1)!.detail).toMatch(/^ERR_TOKEN_EXPIRED: /);
  });

  it("skips the policy without a request and returns an identity without a rule", () => {
    const verifier = new TokenVerifier();
    const { result, steps } = verifier.explain(token, null, verifier.load(bundle(1)), NOW_MS);
    expect(result.ok && result.identity).toEqual({ apiKey: "reporting", tenant: TENANT, jti: expect.any(String) as string, kid: ed.kid, issuedAt: NOW_S, expiresAt: NOW_S + HOUR });
    expect(steps.at(-1)).toEqual({ step: "policy", ok: true, detail: "skipped: no request method and path given" });
  });

  it("always checks the signature and leaves the cache alone", () => {
    const verifier = new TokenVerifier();
    const compiled = verifier.load(bundle(1));
    verifier.verify(token, GET, compiled, NOW_MS);
    const { steps } = verifier.explain(token, GET, compiled, NOW_MS);
    expect(steps.find((s) => s.step === "signature")!.detail).toBe(`EdDSA signature verified with key ${ed.kid}`);
    expect(verifier.stats()).toEqual({ cacheEntries: 1, cacheHits: 0, cacheMisses: 1 });
  });

  it("never shows the token in its steps", () => {
    const verifier = new TokenVerifier();
    const { steps } = verifier.explain(token, { method: "POST", path: "/x" }, verifier.load(bundle(1)), NOW_MS);
    const signature = token.slice(token.lastIndexOf(".") + 1);
    expect(JSON.stringify(steps)).not.toContain(signature.slice(0, 12));
    expect(JSON.stringify(steps)).not.toContain(token.slice(0, 20));
  });
});
