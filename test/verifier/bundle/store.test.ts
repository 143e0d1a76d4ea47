import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/kube/clock.ts";
import { assembleBundle, bundleSignerOf, generateSigningKey, parseBundle, parseTrustSet, publicJwkOf, segmentDigest, serializeSegment, signBundle, TokenVerifier, type BundleSigner } from "../../../src/token/index.ts";
import type { SegmentReader } from "../../../src/verifier/bundle/segments.ts";
import { BundleStore } from "../../../src/verifier/bundle/store.ts";
import { createLogger } from "../../../src/verifier/log.ts";
import { VerifierMetrics } from "../../../src/verifier/metrics.ts";
import { makeFixture, revocationSegment, T0, TestClock, type Fixture } from "../support/fixture.ts";
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
  it("is empty until a first bundle loads, then ready with it", async () => {
    expect(store.state().kind).toBe("empty");
    expect(await store.offer(fx.bundleText({ generation: 3 }), "test")).toEqual({ kind: "loaded", generation: 3 });
    const state = store.state();
    expect(state.kind).toBe("ready");
    expect(store.generation()).toBe(3);
  });

  it("counts the same text again as a confirmation, not a reload", async () => {
    await store.offer(fx.bundleText(), "test");
    clock.advance(5000);
    expect(store.ageSeconds()).toBe(5);
    expect((await store.offer(fx.bundleText(), "test")).kind).toBe("unchanged");
    expect(store.ageSeconds()).toBe(0);
    expect(logs.events("bundle_loaded")).toHaveLength(1);
  });

  it("refuses a bundle of another tenant, fails closed, and says which tenants differ", async () => {
    const r = await store.offer(fx.bundleText({ tenant: "globex" }), "file:/b");
    expect(r).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_TENANT" });
    expect(store.state().kind).toBe("empty");
    const line = logs.events("bundle_refused")[0]!;
    expect(line.msg).toContain('"globex"');
    expect(line.msg).toContain('"acme"');
    expect(line.msg).toContain("503");
    expect(await failures("ERR_BUNDLE_TENANT")).toBe(1);
  });

  it("refuses a lower generation and keeps the bundle in use", async () => {
    await store.offer(fx.bundleText({ generation: 5 }), "test");
    const r = await store.offer(fx.bundleText({ generation: 4, revoked: [{ jti: "x", apiKey: "reporting", exp: null }] }), "test");
    expect(r).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_GENERATION_REGRESSION" });
    expect(store.generation()).toBe(5);
    expect(await failures("ERR_BUNDLE_GENERATION_REGRESSION")).toBe(1);
  });

  it("refuses the same generation with a revocation removed and keeps enforcing the revocation", async () => {
    await store.offer(fx.bundleText({ generation: 5, revoked: [{ jti: "x", apiKey: "reporting", exp: null }] }), "test");
    const r = await store.offer(fx.bundleText({ generation: 5 }), "test");
    expect(r).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_EQUIVOCATION" });
    const state = store.state();
    expect(state.kind).toBe("ready");
    expect(state.kind === "ready" ? state.bundle.revoked.map((e) => e.jti) : []).toEqual(["x"]);
    expect(await failures("ERR_BUNDLE_EQUIVOCATION")).toBe(1);
  });

  it("keeps the last good bundle when the new text is not a bundle", async () => {
    await store.offer(fx.bundleText({ generation: 2 }), "test");
    expect(await store.offer('{"apiVersion": "keyward.dev/bundle/v1", "tenant": ', "test")).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_JSON" });
    expect(await store.offer(JSON.stringify({ ...fx.bundle({ generation: 3 }), keys: "none" }), "test")).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_FIELD" });
    expect(store.state().kind).toBe("ready");
    expect(store.generation()).toBe(2);
    expect(await failures("ERR_BUNDLE_JSON")).toBe(1);
    expect(logs.events("bundle_refused")[0]!.msg).toContain("keeping generation 2");
  });

  it("logs and counts the same bad text once, however often it is offered", async () => {
    for (let i = 0; i < 3; i++) await store.offer("not json", "test");
    for (let i = 0; i < 3; i++) store.fail("test", "gone");
    expect(await failures("ERR_BUNDLE_JSON")).toBe(1);
    expect(await failures("ERR_BUNDLE_READ")).toBe(1);
    expect(logs.events("bundle_refused")).toHaveLength(2);
  });

  it("goes stale past the maximum age and is ready again once confirmed", async () => {
    const s = newStore(60_000);
    await s.offer(fx.bundleText(), "test");
    clock.advance(60_000);
    expect(s.state().kind).toBe("ready");
    clock.advance(1);
    expect(s.state()).toMatchObject({ kind: "stale", ageMs: 60_001 });
    await s.offer(fx.bundleText(), "test");
    expect(s.state().kind).toBe("ready");
  });

  it("is not confirmed by a source that keeps serving a refused bundle", async () => {
    const s = newStore(60_000);
    await s.offer(fx.bundleText({ generation: 5 }), "test");
    clock.advance(30_000);
    await s.offer(fx.bundleText({ generation: 4 }), "test");
    clock.advance(30_001);
    expect(s.state().kind).toBe("stale");
  });

  it("publishes the generation and the age as metrics", async () => {
    await store.offer(fx.bundleText({ generation: 9 }), "test");
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
    expect(await signed.offer(text, "test", await signForTest(text, T0))).toEqual({ kind: "loaded", generation: 3 });
    expect(signed.signature()).toMatchObject({ signedAtMs: T0 });
  });

  it("refuses an unsigned bundle with ERR_BUNDLE_UNSIGNED and does not take its generation as a floor", async () => {
    const max = fx.bundleText({ generation: Number.MAX_SAFE_INTEGER });
    expect(await signed.offer(max, "test")).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_UNSIGNED" });
    expect(signed.state().kind).toBe("empty");
    const good = fx.bundleText({ generation: 4 });
    expect(await signed.offer(good, "test", await signForTest(good, T0))).toEqual({ kind: "loaded", generation: 4 });
  });

  it("refuses a bundle signed by an untrusted key, or changed after signing, and keeps the bundle in use", async () => {
    const good = fx.bundleText({ generation: 4 });
    await signed.offer(good, "test", await signForTest(good, T0));
    const next = fx.bundleText({ generation: 5 });
    expect(await signed.offer(next, "test", signBundle(next, otherSigner, T0))).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SIGNATURE_KEY" });
    const edited = fx.bundleText({ generation: 5, revoked: [] });
    expect(await signed.offer(edited, "test", await signForTest(fx.bundleText({ generation: 5, revoked: [{ jti: "x", apiKey: "reporting", exp: null }] }), T0))).toMatchObject({
      kind: "refused",
      reason: "ERR_BUNDLE_SIGNATURE",
    });
    expect(signed.generation()).toBe(4);
  });

  it("refuses to load a validly signed bundle older than the maximum signature age, but keeps enforcing the bundle in use as it ages", async () => {
    const text = fx.bundleText({ generation: 4 });
    const signature = await signForTest(text, T0);
    await signed.offer(text, "test", signature);
    clock.advance(7 * DAY + 1000);
    expect(signed.state().kind).toBe("ready");
    const fresh = new BundleStore({ tenant: "acme", verifier: new TokenVerifier(), now: clock.now, maxBundleAgeMs: null, signatures: { maxSignatureAgeMs: 7 * DAY }, logger: createLogger("info", logs), metrics });
    fresh.setTrust(trust, "test-trust");
    expect(await fresh.offer(text, "test", signature)).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SIGNATURE_EXPIRED" });
    expect(fresh.state().kind).toBe("empty");
  });

  it("takes a new signature of the same bundle.json without reloading it", async () => {
    const text = fx.bundleText({ generation: 4 });
    await signed.offer(text, "test", await signForTest(text, T0));
    expect(await signed.offer(text, "test", await signForTest(text, T0 + DAY))).toEqual({ kind: "unchanged", generation: 4 });
    expect(signed.signature()?.signedAtMs).toBe(T0 + DAY);
    expect(logs.events("bundle_loaded")).toHaveLength(1);
  });

  it("refuses every bundle until trusted keys are loaded, then loads the one waiting", async () => {
    const waiting = new BundleStore({ tenant: "acme", verifier: new TokenVerifier(), now: clock.now, maxBundleAgeMs: null, signatures: { maxSignatureAgeMs: null }, logger: createLogger("info", logs), metrics });
    const text = fx.bundleText({ generation: 8 });
    expect(await waiting.offer(text, "test", await signForTest(text, T0))).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_TRUST" });
    waiting.setTrust(trust, "test-trust");
    expect(waiting.generation()).toBe(8);
  });
});

/** Segment ConfigMaps as a source reads them, counting every read. */
class Slots implements SegmentReader {
  readonly texts = new Map<string, string>();
  readonly reads: string[] = [];
  /** While set, reads wait for it. */
  gate: Promise<void> | null = null;
  async read(name: string): Promise<string | undefined> {
    this.reads.push(name);
    if (this.gate !== null) await this.gate;
    return this.texts.get(name);
  }
  where(name: string): string {
    return `ConfigMap acme/${name}`;
  }
}


describe("BundleStore with revocation segments", () => {
  let timers: ManualClock;
  let slots: Slots;
  let segmented: BundleStore;

  /** The head of `generation` naming `segs`, put in their slots. */
  function head(generation: number, segs: ReturnType<typeof revocationSegment>[], over: Parameters<Fixture["bundleText"]>[0] = {}): string {
    for (const s of segs) slots.texts.set(s.name, s.text);
    return fx.bundleText({ generation, revokedSegments: segs.map((s) => s.ref), ...over });
  }

  function newSegmentedStore(): BundleStore {
    return new BundleStore({ tenant: "acme", verifier: new TokenVerifier(), now: clock.now, maxBundleAgeMs: null, signatures: null, logger: createLogger("info", logs), metrics, timers, segmentRetry: { initialMs: 250, maxMs: 1000 } });
  }

  beforeEach(() => {
    timers = new ManualClock(T0);
    slots = new Slots();
    segmented = newSegmentedStore();
  });

  it("enforces the revocations of the head and of every segment it names, and refuses a token revoked only in a segment", async () => {
    const verifier = new TokenVerifier();
    const s = new BundleStore({ tenant: "acme", verifier, now: clock.now, maxBundleAgeMs: null, signatures: null, logger: createLogger("info", logs), metrics, timers });
    const text = head(2, [revocationSegment(1, ["c2VnbWVudGVkLW9ubHk"]), revocationSegment(2, ["b3RoZXI"])], { revoked: [{ jti: "aGVhZC1vbmx5", apiKey: "reporting", exp: null }] });
    expect(await s.offer(text, "test", undefined, slots)).toEqual({ kind: "loaded", generation: 2 });
    const state = s.state();
    if (state.kind !== "ready") throw new Error(`not ready: ${state.kind}`);
    expect(state.bundle.revoked.map((r) => r.jti).sort()).toEqual(["aGVhZC1vbmx5", "b3RoZXI", "c2VnbWVudGVkLW9ubHk"]);
    expect(state.bundle).toEqual(assembleBundle(parseBundle(text), (name) => slots.texts.get(name)));
    const request = { method: "GET", path: "/api/v0/items" };
    const revoked = verifier.verify(await fx.token({ jti: "c2VnbWVudGVkLW9ubHk" }), request, state.compiled, T0);
    expect(revoked.ok ? "OK" : revoked.error.code).toBe("ERR_TOKEN_REVOKED");
    const valid = verifier.verify(await fx.token({ jti: "c3RpbGwtdmFsaWQ" }), request, state.compiled, T0);
    expect(valid.ok).toBe(true);
    const scraped = await metrics.registry.metrics();
    expect(scraped).toContain("keyward_verifier_bundle_revocations 3");
    expect(scraped).toContain("keyward_verifier_bundle_segments 2");
  });

  it("leaves out the revocations of ApiKeys the head no longer lists, as assembleBundle does", async () => {
    const text = serializeSegment("acme", [{ jti: "a2VwdA", apiKey: "reporting", exp: null }, { jti: "Z29uZQ", apiKey: "deleted-key", exp: null }]);
    const name = "keyward-bundle-revoked-5";
    slots.texts.set(name, text);
    const headText = fx.bundleText({ generation: 2, revokedSegments: [{ name, sha256: segmentDigest(text), count: 2 }] });
    await segmented.offer(headText, "test", undefined, slots);
    const state = segmented.state();
    expect(state.kind === "ready" ? state.bundle.revoked.map((r) => r.jti) : []).toEqual(["a2VwdA"]);
    expect(state.kind === "ready" ? state.bundle : null).toEqual(assembleBundle(parseBundle(headText), (n) => slots.texts.get(n)));
  });

  it("reads each segment once per SHA-256: a new head keeping a segment does not read it again, nor does the same head again", async () => {
    const one = revocationSegment(1, ["b25l"]);
    const two = revocationSegment(2, ["dHdv"]);
    await segmented.offer(head(2, [one, two]), "test", undefined, slots);
    expect(slots.reads.sort()).toEqual([one.name, two.name]);
    const three = revocationSegment(3, ["dGhyZWU"]);
    const g3 = head(3, [one, three]);
    expect(await segmented.offer(g3, "test", undefined, slots)).toEqual({ kind: "loaded", generation: 3 });
    expect(await segmented.offer(g3, "test", undefined, slots)).toEqual({ kind: "unchanged", generation: 3 });
    expect(slots.reads.sort()).toEqual([one.name, two.name, three.name]);
  });

  it("stops holding a segment the head no longer names, and reads it again when a later head names it", async () => {
    const one = revocationSegment(1, ["b25l"]);
    const two = revocationSegment(2, ["dHdv"]);
    await segmented.offer(head(2, [one, two]), "test", undefined, slots);
    await segmented.offer(head(3, [one]), "test", undefined, slots);
    expect(segmented.segmentsHeld()).toEqual([one.name]);
    slots.reads.length = 0;
    await segmented.offer(head(4, [one, two]), "test", undefined, slots);
    expect(slots.reads).toEqual([two.name]);
  });

  it("keeps the last good bundle when a segment does not match, logs an error naming its ConfigMap, counts it once, and reads it again with capped back-off until it matches", async () => {
    const one = revocationSegment(1, ["b25l"]);
    await segmented.offer(head(2, [one]), "test", undefined, slots);
    const four = revocationSegment(4, ["Zm91cg"]);
    const g3 = head(3, [one, four]);
    slots.texts.set(four.name, four.text.replace("Zm91cg", "ZWRpdGVk"));
    expect(await segmented.offer(g3, "configmap:acme/keyward-bundle", undefined, slots)).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SEGMENT_DIGEST" });
    expect(segmented.generation()).toBe(2);
    expect(segmented.state().kind).toBe("ready");
    const line = logs.events("bundle_refused")[0]!;
    expect(line.level).toBe(50);
    expect(line.msg).toContain("ConfigMap acme/keyward-bundle-revoked-4");
    expect(line.msg).toContain("edited by hand");
    expect(line.msg).toContain("keeping generation 2");
    expect(segmented.lastFailure()).toContain("ERR_BUNDLE_SEGMENT_DIGEST");

    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const reads = slots.reads.length;
      delays.push(timers.nextDue()! - timers.now());
      await timers.runNext();
      expect(slots.reads.length).toBe(reads + 1);
    }
    expect(delays).toEqual([250, 500, 1000, 1000]);
    expect(segmented.generation()).toBe(2);
    expect(await failures("ERR_BUNDLE_SEGMENT_DIGEST")).toBe(1);
    expect(logs.events("bundle_refused")).toHaveLength(1);

    slots.texts.set(four.name, four.text);
    await timers.runNext();
    expect(segmented.generation()).toBe(3);
    expect(segmented.lastFailure()).toBeNull();
    expect(timers.pendingTimers()).toBe(0);
  });

  it("stops reading the segments of a head again once a newer head arrives", async () => {
    const g2 = head(2, [revocationSegment(1, ["b25l"])]);
    slots.texts.clear();
    expect(await segmented.offer(g2, "test", undefined, slots)).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SEGMENT_MISSING" });
    expect(timers.pendingTimers()).toBe(1);
    expect(await segmented.offer(fx.bundleText({ generation: 3, tenant: "globex" }), "test", undefined, slots)).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_TENANT" });
    expect(timers.pendingTimers()).toBe(0);
    expect(await segmented.offer(fx.bundleText({ generation: 3 }), "test", undefined, slots)).toEqual({ kind: "loaded", generation: 3 });
    const reads = slots.reads.length;
    await timers.advance(60_000);
    expect(slots.reads.length).toBe(reads);
  });

  it("stays empty, not ready, at start while a segment of the only head is missing, then loads once it appears", async () => {
    const one = revocationSegment(1, ["b25l"]);
    const g2 = head(2, [one]);
    slots.texts.delete(one.name);
    expect(await segmented.offer(g2, "test", undefined, slots)).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SEGMENT_MISSING" });
    expect(segmented.state().kind).toBe("empty");
    expect(logs.events("bundle_refused")[0]!.msg).toContain("no bundle loaded yet, every request is answered 503");
    expect(logs.events("bundle_refused")[0]!.msg).toContain("config/verifier/role.yaml");
    slots.texts.set(one.name, one.text);
    await timers.runNext();
    expect(segmented.generation()).toBe(2);
  });

  it("names the read error when a segment cannot be read", async () => {
    const failing: SegmentReader = { read: () => Promise.reject(new Error("HTTP 403 forbidden")), where: (name) => `ConfigMap acme/${name}` };
    const r = await segmented.offer(head(2, [revocationSegment(1, ["b25l"])]), "test", undefined, failing);
    expect(r).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SEGMENT_MISSING" });
    expect(r.kind === "refused" ? r.message : "").toContain("HTTP 403 forbidden");
  });

  it("refuses a head naming a segment outside the 32 slots without reading it, and a head naming segments its source cannot read", async () => {
    const outside = fx.bundleText({ generation: 2, revokedSegments: [{ ...revocationSegment(1, ["b25l"]).ref, name: "another-configmap" }] });
    expect(await segmented.offer(outside, "test", undefined, slots)).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SEGMENT_MISSING" });
    expect(slots.reads).toEqual([]);
    expect(await segmented.offer(head(3, [revocationSegment(1, ["b25l"])]), "test")).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_SEGMENT_MISSING" });
    expect(segmented.state().kind).toBe("empty");
  });

  it("decides equivocation on the head: the same generation naming other segment bytes is refused", async () => {
    await segmented.offer(head(2, [revocationSegment(1, ["b25l"])]), "test", undefined, slots);
    const other = head(2, [revocationSegment(1, ["b3RoZXI"])]);
    expect(await segmented.offer(other, "test", undefined, slots)).toMatchObject({ kind: "refused", reason: "ERR_BUNDLE_EQUIVOCATION" });
    expect(timers.pendingTimers()).toBe(0);
  });

  it("compares a head with the head in use, not with the bundle assembled from it: the same head in other bytes is taken", async () => {
    const text = head(2, [revocationSegment(1, ["b25l"])]);
    await segmented.offer(text, "test", undefined, slots);
    const reformatted = JSON.stringify(JSON.parse(text), null, 2);
    expect(await segmented.offer(reformatted, "test", undefined, slots)).toEqual({ kind: "loaded", generation: 2 });
  });

  it("takes offers one at a time: a head offered while segments are read waits, and of those waiting only the last is taken", async () => {
    let open = (): void => undefined;
    slots.gate = new Promise((resolve) => { open = resolve; });
    const first = segmented.offer(head(2, [revocationSegment(1, ["b25l"])]), "test", undefined, slots);
    const second = segmented.offer(fx.bundleText({ generation: 3 }), "test", undefined, slots);
    const third = segmented.offer(fx.bundleText({ generation: 4 }), "test", undefined, slots);
    expect(segmented.generation()).toBeNull();
    open();
    expect(await first).toEqual({ kind: "loaded", generation: 2 });
    expect(await second).toEqual({ kind: "loaded", generation: 4 });
    expect(await third).toEqual({ kind: "loaded", generation: 4 });
    expect(logs.events("bundle_loaded").map((l) => l.generation)).toEqual([2, 4]);
  });
});
