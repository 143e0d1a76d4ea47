// The ConfigMap source with the real client library against a small API server that
// speaks list and watch the way kube-apiserver does.

import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TokenVerifier } from "../../../src/token/index.ts";
import { ConfigMapBundleSource } from "../../../src/verifier/bundle/configmap-source.ts";
import { BundleStore } from "../../../src/verifier/bundle/store.ts";
import { createLogger } from "../../../src/verifier/log.ts";
import { VerifierMetrics } from "../../../src/verifier/metrics.ts";
import { FakeApiServer } from "../support/fake-apiserver.ts";
import { makeFixture, revocationSegment, TestClock, type Fixture } from "../support/fixture.ts";
import { eventually, LogCapture } from "../support/http.ts";

let fx: Fixture;
let api: FakeApiServer;
let store: BundleStore;
let source: ConfigMapBundleSource;
let clock: TestClock;
let logs: LogCapture;
let metrics: VerifierMetrics;


function cm(text: string): { name: string; namespace: string; data: Record<string, string> } {
  return { name: "keyward-bundle", namespace: "acme", data: { "bundle.json": text, "jwks.json": "{\"keys\":[]}" } };
}

async function startSource(): Promise<void> {
  source = new ConfigMapBundleSource({ namespace: "acme", name: "keyward-bundle", kubeConfig: api.kubeConfig(), store, logger: createLogger("info", logs), initialBackoffMs: 10, maxBackoffMs: 50 });
  await source.start();
}

async function failures(reason: string): Promise<number> {
  return (await metrics.reloadFailures.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

beforeAll(async () => {
  fx = await makeFixture();
});

beforeEach(async () => {
  api = new FakeApiServer();
  await api.start();
  clock = new TestClock();
  logs = new LogCapture();
  let s: BundleStore | null = null;
  metrics = new VerifierMetrics(() => s?.ageSeconds() ?? null);
  store = new BundleStore({ tenant: "acme", verifier: new TokenVerifier(), now: clock.now, maxBundleAgeMs: 60_000, signatures: null, logger: createLogger("info", logs), metrics });
  s = store;
});

afterEach(async () => {
  await source.stop();
  await api.stop();
});

describe("ConfigMap bundle source", () => {
  it("lists the ConfigMap, then applies the changes its watch reports", async () => {
    api.setQuietly(cm(fx.bundleText({ generation: 1 })));
    await startSource();
    expect(store.generation()).toBe(1);
    await eventually(() => api.watching === 1, "the watch to start");
    api.set(cm(fx.bundleText({ generation: 2 })));
    await eventually(() => store.generation() === 2, "generation 2 to load");
  });

  it("asks only for its one ConfigMap, by name, in the list and in the watch", async () => {
    api.setQuietly(cm(fx.bundleText()));
    await startSource();
    await eventually(() => api.watching === 1, "the watch to start");
    expect(api.calls.length).toBeGreaterThanOrEqual(2);
    for (const call of api.calls) expect(call.fieldSelector).toBe("metadata.name=keyward-bundle");
    const watch = api.calls.find((c) => c.watch)!;
    expect(watch.resourceVersion).toBe(String(api.resourceVersion));
  });

  it("lists again after 410 Gone and picks up what it missed", async () => {
    api.setQuietly(cm(fx.bundleText({ generation: 1 })));
    await startSource();
    await eventually(() => api.watching === 1, "the watch to start");
    api.setQuietly(cm(fx.bundleText({ generation: 5 })));
    api.goneBelow = api.resourceVersion;
    // The watch ends cleanly; the next one, from the old resourceVersion, gets 410 Gone.
    api.endWatches();
    await eventually(() => store.generation() === 5, "generation 5 from the new list");
    expect(api.calls.filter((c) => !c.watch)).toHaveLength(2);
    expect(logs.events("bundle_source_error").map((e) => e.msg)).toContainEqual(expect.stringContaining("410 Gone"));
  });

  it("reconnects with backoff after the connection breaks", async () => {
    api.setQuietly(cm(fx.bundleText({ generation: 1 })));
    await startSource();
    await eventually(() => api.watching === 1, "the watch to start");
    api.breakWatches();
    await eventually(() => api.watching === 1 && api.calls.filter((c) => c.watch).length >= 2, "a new watch");
    api.set(cm(fx.bundleText({ generation: 3 })));
    await eventually(() => store.generation() === 3, "generation 3 to load");
  });

  it("reads each segment the head names by a GET of its ConfigMap in the bundle's namespace, once, and watches nothing but the bundle", async () => {
    const one = revocationSegment(1, ["aW4tc2VnbWVudC0x"]);
    const two = revocationSegment(2, ["aW4tc2VnbWVudC0y"]);
    for (const s of [one, two]) api.others.set(s.name, { "revoked.json": s.text });
    api.setQuietly(cm(fx.bundleText({ generation: 1, revokedSegments: [one.ref, two.ref] })));
    await startSource();
    await eventually(() => store.generation() === 1, "the head and its segments to load");
    const state = store.state();
    expect(state.kind === "ready" ? state.bundle.revoked.map((r) => r.jti).sort() : []).toEqual(["aW4tc2VnbWVudC0x", "aW4tc2VnbWVudC0y"]);
    await eventually(() => api.watching === 1, "the watch to start");
    api.set(cm(fx.bundleText({ generation: 2, revokedSegments: [one.ref, two.ref], revoked: [{ jti: "aW4taGVhZA", apiKey: "reporting", exp: null }] })));
    await eventually(() => store.generation() === 2, "generation 2 to load");
    const gets = api.calls.filter((c) => c.path !== "/api/v1/namespaces/acme/configmaps");
    expect(gets.map((c) => [c.path, c.watch]).sort()).toEqual([
      ["/api/v1/namespaces/acme/configmaps/keyward-bundle-revoked-1", false],
      ["/api/v1/namespaces/acme/configmaps/keyward-bundle-revoked-2", false],
    ]);
    for (const call of api.calls.filter((c) => c.watch)) expect(call.fieldSelector).toBe("metadata.name=keyward-bundle");
  });

  it("takes a segment ConfigMap that does not exist (404) as missing: keeps the bundle in use and takes the head once the segment appears", async () => {
    api.setQuietly(cm(fx.bundleText({ generation: 1 })));
    await startSource();
    await eventually(() => api.watching === 1, "the watch to start");
    const three = revocationSegment(3, ["aW4tc2VnbWVudC0z"]);
    api.set(cm(fx.bundleText({ generation: 2, revokedSegments: [three.ref] })));
    await eventually(async () => (await failures("ERR_BUNDLE_SEGMENT_MISSING")) === 1, "the missing segment to be reported");
    expect(store.generation()).toBe(1);
    expect(logs.events("bundle_refused")[0]!.msg).toContain("ConfigMap acme/keyward-bundle-revoked-3");
    api.others.set(three.name, { "revoked.json": three.text });
    await eventually(() => store.generation() === 2, "the head to load once its segment exists");
  });

  it("keeps the bundle in use when the ConfigMap is deleted or loses its key", async () => {
    api.setQuietly(cm(fx.bundleText({ generation: 4 })));
    await startSource();
    await eventually(() => api.watching === 1, "the watch to start");
    api.delete();
    await eventually(async () => (await failures("ERR_BUNDLE_READ")) === 1, "the deletion to be noted");
    expect(store.generation()).toBe(4);
    api.set({ name: "keyward-bundle", namespace: "acme", data: {} }, "ADDED");
    await eventually(async () => (await failures("ERR_BUNDLE_READ")) === 2, "the missing key to be noted");
    expect(store.state().kind).toBe("ready");
    expect(logs.text).toContain("has no key bundle.json");
  });

  it("fails closed while the ConfigMap does not exist, and loads it once created", async () => {
    await startSource();
    expect(store.state().kind).toBe("empty");
    expect(store.lastFailure()).toContain("does not exist");
    await eventually(() => api.watching === 1, "the watch to start");
    api.set(cm(fx.bundleText({ generation: 1 })), "ADDED");
    await eventually(() => store.generation() === 1, "the bundle to load");
  });

  it("counts a watch that ends cleanly as a confirmation of the bundle", async () => {
    api.setQuietly(cm(fx.bundleText()));
    await startSource();
    await eventually(() => api.watching === 1, "the watch to start");
    clock.advance(59_000);
    expect(store.ageSeconds()).toBe(59);
    api.endWatches();
    await eventually(() => store.ageSeconds() === 0, "the confirmation");
  });

  it("backs off exponentially up to its cap while the API server is unreachable, as the controller's informers do", async () => {
    const dead = api.kubeConfig();
    await api.stop();
    api = new FakeApiServer();
    await api.start();
    source = new ConfigMapBundleSource({ namespace: "acme", name: "keyward-bundle", kubeConfig: dead, store, logger: createLogger("info", logs), initialBackoffMs: 10, maxBackoffMs: 40 });
    await source.start();
    await eventually(() => logs.events("bundle_source_error").length >= 5, "five failed attempts");
    const delays = logs.events("bundle_source_error").slice(0, 5).map((e) => (e as { retryInMs?: number }).retryInMs);
    expect(delays).toEqual([10, 20, 40, 40, 40]);
  });

  it("keeps retrying while the API server refuses", async () => {
    const dead = api.kubeConfig();
    await api.stop();
    api = new FakeApiServer();
    await api.start();
    source = new ConfigMapBundleSource({ namespace: "acme", name: "keyward-bundle", kubeConfig: dead, store, logger: createLogger("info", logs), initialBackoffMs: 10, maxBackoffMs: 20 });
    await source.start();
    expect(store.state().kind).toBe("empty");
    await eventually(() => logs.events("bundle_source_error").length >= 2, "repeated retries");
  });
});
