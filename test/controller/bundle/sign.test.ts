import { beforeAll, describe, expect, it } from "vitest";
import { planSignature } from "../../../src/controller/bundle/sign.ts";
import { bundleSignerOf, generateSigningKey, parseTrustSet, publicJwkOf, readSignatureHeader, signBundle, type BundleSigner, type TrustSet } from "../../../src/token/index.ts";

const NOW = new Date("2026-12-01T12:00:00Z");
const H = 3_600_000;
const BUNDLE = '{"generation":1}';

let signer: BundleSigner;
let old: BundleSigner;
let trust: TrustSet;
beforeAll(async () => {
  const [a, b] = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("EdDSA")]);
  signer = bundleSignerOf(a);
  old = bundleSignerOf(b);
  trust = parseTrustSet(JSON.stringify({ keys: [publicJwkOf(a), publicJwkOf(b)] }));
});

const plan = (currentSignature: string | undefined, over: { currentBundle?: string; now?: Date } = {}) =>
  planSignature({ bundleJson: BUNDLE, currentBundle: over.currentBundle ?? BUNDLE, currentSignature, signer, trust, now: over.now ?? NOW, resignAfterMs: 24 * H });

describe("planSignature", () => {
  it("keeps its own fresh signature of the same bundle.json: nothing is written", () => {
    const jws = signBundle(BUNDLE, signer, NOW.getTime() - H);
    expect(plan(jws)).toEqual({ jws, kept: true, resignAt: new Date(NOW.getTime() + 23 * H) });
  });

  it("signs again once the signature is older than the re-sign period", () => {
    const stale = signBundle(BUNDLE, signer, NOW.getTime() - 24 * H);
    const p = plan(stale);
    expect(p.kept).toBe(false);
    expect(readSignatureHeader(p.jws)?.signedAtMs).toBe(NOW.getTime());
  });

  it("signs again with the key in use when the bundle was signed by the retired key", () => {
    const p = plan(signBundle(BUNDLE, old, NOW.getTime()));
    expect(p.kept).toBe(false);
    expect(readSignatureHeader(p.jws)?.kid).toBe(signer.kid);
  });

  it("replaces a missing, forged or mismatched signature", () => {
    expect(plan(undefined).kept).toBe(false);
    expect(plan(signBundle(BUNDLE, { kid: signer.kid, key: old.key }, NOW.getTime())).kept).toBe(false);
    expect(plan(signBundle(BUNDLE, signer, NOW.getTime()), { currentBundle: '{"generation":2}' }).kept).toBe(false);
  });
});
