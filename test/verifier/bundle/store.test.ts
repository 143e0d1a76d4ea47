import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { bundleSignerOf, generateSigningKey, parseTrustSet, publicJwkOf, signBundle, TokenVerifier, type BundleSigner } from "../../../src/token/index.ts";
import { BundleStore } from "../../../src/verifier/bundle/store.ts";
import { createLogger } from "../../../src/verifier/log.ts";
import { VerifierMetrics } from "../../../src/verifier/metrics.ts";
import { makeFixture, T0, TestClock, type Fixture } from "../support/fixture.ts";
import { LogCapture, signForTest, testBundleSigner } from "../support/http.ts";

let fx: Fixture;
let clock: TestClock;
let logs: LogCapture;
let metrics: VerifierMetrics;
let store: BundleStore;

function newStore(maxBundleAgeMs: number | null = null): BundleStore {
  const s: BundleStore = new BundleStore({ tenant: "acme", verifier: new TokenVerifier(), now: clock.now, maxBundleAgeMs, signatures: null, logger: createLogger("info", logs), metrics });
  return s;
}

async function failures(reason: string): Promise<number> {
  const m = await metrics.reloadFailures.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

beforeAll(async () => {
  fx = await makeFixture();
});

beforeEach(() => {
  clock = new TestClock();
  logs = new LogCapture();
  let s: BundleStore | null = null;
  metrics = new VerifierMetrics(() => s?.ageSeconds() ?? null);
  store = newStore();
  s = store;
});

describe("BundleStore", () => {
  it("is empty until a first bundle loads, then ready with it", () => {
    expect(store.state().kind).toBe("empty");
    expect(store.offer(fx.bundleText({ generation: 3 }), "test")).toEqual({ kind: "loaded", generation: 3 });
    const state = store.state();
    expect(state.kind).toBe("ready");
    expect(store.generation()).toBe(3);
  });

  it("counts the same text again as a confirmation, not a reload", () => {
    store.offer(fx.bundleText(), "test");
    clock.advance(5000);
    expect(store.ageSeconds()).toBe(5);
    expect(store.offer(fx.bundleText(), "test").kind).toBe("unchanged");
    expect(store.ageSeconds()).toBe(0);
    expect(logs.events("bundle_loaded")).toHaveLength(1);
  });

  it("refuses a bundle of another tenant, fails closed, and says which tenants differ", async () => {
    const r = store.offer(fx.bundleText({ tenant: "globex" }), "file:/b");
    expect(r).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_TENANT" });
    expect(store.state().kind).toBe("empty");
    const line = logs.events("bundle_refused")[0]!;
    expect(line.msg).toContain('"globex"');
    expect(line.msg).toContain('"acme"');
    expect(line.msg).toContain("503");
    expect(await failures("ERR_BUNDLE_TENANT")).toBe(1);
  });

  it("refuses a lower generation and keeps the bundle in use", async () => {
    store.offer(fx.bundleText({ generation: 5 }), "test");
    const r = store.offer(fx.bundleText({ generation: 4, revoked: [{ jti: "x", apiKey: "reporting", exp: null }] }), "test");
    expect(r).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_GENERATION_REGRESSION" });
    expect(store.generation()).toBe(5);
    expect(await failures("ERR_BUNDLE_GENERATION_REGRESSION")).toBe(1);
  });

  it("refuses the same generation with a revocation removed and keeps enforcing the revocation", async () => {
    store.offer(fx.bundleText({ generation: 5, revoked: [{ jti: "x", apiKey: "reporting", exp: null }] }), "test");
    const r = store.offer(fx.bundleText({ generation: 5 }), "test");
    expect(r).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_EQUIVOCATION" });
    const state = store.state();
    expect(state.kind).toBe("ready");
    expect(state.kind === "ready" ? state.bundle.revoked.map((e) => e.jti) : []).toEqual(["x"]);
    expect(await failures("ERR_BUNDLE_EQUIVOCATION")).toBe(1);
  });

  it("keeps the last good bundle when the new text is not a bundle", async () => {
    store.offer(fx.bundleText({ generation: 2 }), "test");
    expect(store.offer('{"apiVersion": "keyward.dev/bundle/v1", "tenant": ', "test")).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_JSON" });
    expect(store.offer(JSON.stringify({ ...fx.bundle({ generation: 3 }), keys: "none" }), "test")).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_FIELD" });
    expect(store.state().kind).toBe("ready");
    expect(store.generation()).toBe(2);
    expect(await failures("ERR_BUNDLE_JSON")).toBe(1);
    expect(logs.events("bundle_refused")[0]!.msg).toContain("keeping generation 2");
  });

  it("logs and counts the same bad text once, however often it is offered", async () => {
    for (let i = 0; i < 3; i++) store.offer("not json", "test");
    for (let i = 0; i < 3; i++) store.fail("test", "gone");
    expect(await failures("ERR_BUNDLE_JSON")).toBe(1);
    expect(await failures("ERR_BUNDLE_READ")).toBe(1);
    expect(logs.events("bundle_refused")).toHaveLength(2);
  });

  it("goes stale past the maximum age and is ready again once confirmed", () => {
    const s = newStore(60_000);
    s.offer(fx.bundleText(), "test");
    clock.advance(60_000);
    expect(s.state().kind).toBe("ready");
    clock.advance(1);
    expect(s.state()).toMatchObject({ kind: "stale", ageMs: 60_001 });
    s.offer(fx.bundleText(), "test");
    expect(s.state().kind).toBe("ready");
  });

  it("is not confirmed by a source that keeps serving a refused bundle", () => {
    const s = newStore(60_000);
    s.offer(fx.bundleText({ generation: 5 }), "test");
    clock.advance(30_000);
    s.offer(fx.bundleText({ generation: 4 }), "test");
    clock.advance(30_001);
    expect(s.state().kind).toBe("stale");
  });

  it("publishes the generation and the age as metrics", async () => {
    store.offer(fx.bundleText({ generation: 9 }), "test");
    clock.set(T0 + 12_000);
    const text = await metrics.registry.metrics();
    expect(text).toContain("keyward_verifier_bundle_generation 9");
    expect(text).toContain("keyward_verifier_bundle_age_seconds 12");
  });
});

describe("BundleStore with signatures required", () => {
  const DAY = 86_400_000;
  let signed: BundleStore;
  let trust: ReturnType<typeof parseTrustSet>;
  let otherSigner: BundleSigner;

  beforeAll(async () => {
    trust = parseTrustSet(JSON.stringify({ keys: [publicJwkOf((await testBundleSigner()).jwk)] }));
    otherSigner = bundleSignerOf(await generateSigningKey("EdDSA"));
  });

  beforeEach(() => {
    signed = new BundleStore({ tenant: "acme", verifier: new TokenVerifier(), now: clock.now, maxBundleAgeMs: null, signatures: { maxSignatureAgeMs: 7 * DAY }, logger: createLogger("info", logs), metrics });
    signed.setTrust(trust, "test-trust");
  });

  it("loads a bundle signed by a trusted key and remembers who signed it and when", async () => {
    const text = fx.bundleText({ generation: 3 });
    expect(signed.offer(text, "test", await signForTest(text, T0))).toEqual({ kind: "loaded", generation: 3 });
    expect(signed.signature()).toMatchObject({ signedAtMs: T0 });
  });

  it("refuses an unsigned bundle with ERR_BUNDLE_UNSIGNED and does not take its generation as a floor", async () => {
    const max = fx.bundleText({ generation: Number.MAX_SAFE_INTEGER });
    expect(signed.offer(max, "test")).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_UNSIGNED" });
    expect(signed.state().kind).toBe("empty");
    const good = fx.bundleText({ generation: 4 });
    expect(signed.offer(good, "test", await signForTest(good, T0))).toEqual({ kind: "loaded", generation: 4 });
  });

  it("refuses a bundle signed by an untrusted key, or changed after signing, and keeps the bundle in use", async () => {
    const good = fx.bundleText({ generation: 4 });
    signed.offer(good, "test", await signForTest(good, T0));
    const next = fx.bundleText({ generation: 5 });
    expect(signed.offer(next, "test", signBundle(next, otherSigner, T0))).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SIGNATURE_KEY" });
    const edited = fx.bundleText({ generation: 5, revoked: [] });
    expect(signed.offer(edited, "test", await signForTest(fx.bundleText({ generation: 5, revoked: [{ jti: "x", apiKey: "reporting", exp: null }] }), T0))).toMatchObject({
      kind: "refused",
      reason: "ERR_BUNDLE_SIGNATURE",
    });
    expect(signed.generation()).toBe(4);
  });

  it("refuses to load a validly signed bundle older than the maximum signature age, but keeps enforcing the bundle in use as it ages", async () => {
    const text = fx.bundleText({ generation: 4 });
    const signature = await signForTest(text, T0);
    signed.offer(text, "test", signature);
    clock.advance(7 * DAY + 1000);
    expect(signed.state().kind).toBe("ready");
    const fresh = new BundleStore({ tenant: "acme", verifier: new TokenVerifier(), now: clock.now, maxBundleAgeMs: null, signatures: { maxSignatureAgeMs: 7 * DAY }, logger: createLogger("info", logs), metrics });
    fresh.setTrust(trust, "test-trust");
    expect(fresh.offer(text, "test", signature)).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SIGNATURE_EXPIRED" });
    expect(fresh.state().kind).toBe("empty");
  });

  it("takes a new signature of the same bundle.json without reloading it", async () => {
    const text = fx.bundleText({ generation: 4 });
    signed.offer(text, "test", await signForTest(text, T0));
    expect(signed.offer(text, "test", await signForTest(text, T0 + DAY))).toEqual({ kind: "unchanged", generation: 4 });
    expect(signed.signature()?.signedAtMs).toBe(T0 + DAY);
    expect(logs.events("bundle_loaded")).toHaveLength(1);
  });

  it("refuses every bundle until trusted keys are loaded, then loads the one waiting", async () => {
    const waiting = new BundleStore({ tenant: "acme", verifier: new TokenVerifier(), now: clock.now, maxBundleAgeMs: null, signatures: { maxSignatureAgeMs: null }, logger: createLogger("info", logs), metrics });
    const text = fx.bundleText({ generation: 8 });
    expect(waiting.offer(text, "test", await signForTest(text, T0))).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_TRUST" });
    waiting.setTrust(trust, "test-trust");
    expect(waiting.generation()).toBe(8);
  });
});
