import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, settle } from "../../../src/kube/clock.ts";
import { Informer, shapedSource } from "../../../src/kube/informer.ts";
import { NamespaceShard } from "../../../src/controller/controllers/shard.ts";
import type { NamespaceObject } from "../../../src/controller/controllers/namespaces.ts";
import { MemorySource, obj } from "../../kube/support/memory-source.ts";

const running: Informer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

function namespace(name: string): NamespaceObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name } };
}

/** A shard over a Namespace source (what its label selector lets through) and one namespaced informer it filters. */
async function setup(): Promise<{ clock: ManualClock; namespaces: MemorySource<NamespaceObject>; objects: MemorySource; shard: NamespaceShard; cache: Informer; shown: string[] }> {
  const clock = new ManualClock();
  const namespaces = new MemorySource<NamespaceObject>();
  const nsInformer = new Informer(namespaces, { clock, resyncPeriodMs: 0 });
  const shard = new NamespaceShard(nsInformer, "keyward.dev/shard=a");
  const objects = new MemorySource();
  const cache = new Informer(shapedSource(objects, { filter: shard.keeps }), { clock, random: () => 0, resyncPeriodMs: 0, backoff: { initialMs: 100, maxMs: 1_000 } });
  shard.track([cache]);
  const shown: string[] = [];
  shard.onShown((ns) => shown.push(ns));
  running.push(nsInformer, cache);
  namespaces.add(namespace("acme"));
  objects.add(obj("a1", "acme"));
  objects.add(obj("b1", "beta"));
  await shard.start();
  cache.start();
  await cache.waitForSync();
  await settle();
  shown.length = 0;
  return { clock, namespaces, objects, shard, cache, shown };
}

describe("NamespaceShard", () => {
  it("caches only the objects of the namespaces it owns, and owns none of another shard's", async () => {
    const { shard, cache } = await setup();
    expect(cache.keys()).toEqual(["acme/a1"]);
    expect(shard.shows("acme")).toBe(true);
    expect(shard.owns("beta")).toBe(false);
    expect(shard.keeps({ metadata: { name: "cluster-wide" } })).toBe(true);
  });

  it("lists a namespace that arrives, and shows it to reconcilers only once its objects are cached", async () => {
    const { clock, namespaces, objects, shard, cache, shown } = await setup();
    objects.silently(() => objects.add(obj("b2", "beta")));
    objects.failLists(new Error("list refused"));
    namespaces.add(namespace("beta"));
    await settle();
    // Owned (its objects may enter the cache), not shown: the list has not succeeded yet.
    expect(shard.owns("beta")).toBe(true);
    expect(shard.shows("beta")).toBe(false);
    expect(shown).toEqual([]);
    await clock.advance(100);
    await settle();
    expect(cache.keys().sort()).toEqual(["acme/a1", "beta/b1", "beta/b2"]);
    expect(shard.shows("beta")).toBe(true);
    expect(shown).toEqual(["beta"]);
  });

  it("stops showing a namespace as soon as it leaves, and drops its objects from the cache", async () => {
    const { namespaces, shard, cache } = await setup();
    namespaces.delete(namespace("acme"));
    await settle();
    expect(shard.shows("acme")).toBe(false);
    await settle();
    expect(cache.keys()).toEqual([]);
  });
});
