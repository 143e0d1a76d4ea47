import { afterEach, describe, expect, it } from "vitest";
import { CACHE_WAIT_MS, newerOrSame, Store } from "../../../src/controller/controllers/store.ts";
import { ManualClock, settle } from "../../../src/kube/clock.ts";
import { Informer } from "../../../src/kube/informer.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { MemorySource } from "../../kube/support/memory-source.ts";

interface Thing extends KubeObject {
  spec?: { owner?: string };
}

const thing = (namespace: string, name: string, owner?: string): Thing => ({
  metadata: { namespace, name },
  ...(owner === undefined ? {} : { spec: { owner } }),
});

const started: Informer<Thing>[] = [];

async function storeOver(sources: Record<string, MemorySource<Thing>>, clock = new ManualClock(), owns?: (namespace: string) => boolean): Promise<Store<Thing>> {
  const informers = new Map<string, Informer<Thing>>();
  for (const [ns, source] of Object.entries(sources)) {
    const inf = new Informer(source, { clock, resyncPeriodMs: 0 });
    informers.set(ns, inf);
    started.push(inf);
  }
  const store = new Store(informers, clock, owns);
  for (const inf of informers.values()) {
    inf.start();
    await inf.waitForSync();
  }
  return store;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((i) => i.stop()));
});

describe("Store", () => {
  it("reads one namespace's informer, and knows nothing of namespaces it does not watch", async () => {
    const a = new MemorySource<Thing>();
    const b = new MemorySource<Thing>();
    a.add(thing("a", "one", "x"));
    b.add(thing("b", "two", "x"));
    const store = await storeOver({ a, b });
    store.addIndex("owner", (t) => (t.spec?.owner === undefined ? [] : [t.spec.owner]));
    expect(store.get("a", "one")?.metadata?.name).toBe("one");
    expect(store.getKey("b/two")?.metadata?.name).toBe("two");
    expect(store.get("a", "two")).toBeUndefined();
    expect(store.get("c", "one")).toBeUndefined();
    expect(store.watches("a")).toBe(true);
    expect(store.watches("c")).toBe(false);
    expect(store.list().map((t) => t.metadata?.name).sort()).toEqual(["one", "two"]);
    expect(store.list("b").map((t) => t.metadata?.name)).toEqual(["two"]);
    expect(store.byIndex("owner", "x").map((t) => t.metadata?.name).sort()).toEqual(["one", "two"]);
    expect(store.namespaces().sort()).toEqual(["a", "b"]);
  });

  it("serves every namespace from a single informer keyed \"\"", async () => {
    const all = new MemorySource<Thing>();
    all.add(thing("a", "one"));
    all.add(thing("z", "two"));
    const store = await storeOver({ "": all });
    expect(store.watches("anything")).toBe(true);
    expect(store.get("z", "two")?.metadata?.name).toBe("two");
    expect(store.list("a").map((t) => t.metadata?.name)).toEqual(["one"]);
  });

  it("watches, as a shard, only the namespaces it owns: another shard's are not its to judge", async () => {
    const all = new MemorySource<Thing>();
    all.add(thing("mine", "one"));
    all.add(thing("theirs", "two"));
    const store = await storeOver({ "": all }, new ManualClock(), (ns) => ns === "mine");
    expect(store.watches("mine")).toBe(true);
    expect(store.watches("theirs")).toBe(false);
    expect(store.get("theirs", "two")).toBeUndefined();
  });

  it("lists a namespace as its objects come and go", async () => {
    const all = new MemorySource<Thing>();
    all.add(thing("a", "one"));
    const store = await storeOver({ "": all });
    all.add(thing("a", "two"));
    all.add(thing("b", "three"));
    await settle();
    expect(store.list("a").map((t) => t.metadata?.name).sort()).toEqual(["one", "two"]);
    all.delete(thing("a", "one"));
    await settle();
    expect(store.list("a").map((t) => t.metadata?.name)).toEqual(["two"]);
    expect(store.list("b").map((t) => t.metadata?.name)).toEqual(["three"]);
    expect(store.list("c")).toEqual([]);
  });

  it("waits until the cache shows the version written, or later", async () => {
    const src = new MemorySource<Thing>();
    const store = await storeOver({ "": src });
    let done = false;
    const written = src.add(thing("a", "one"));
    const waiting = store.waitFor("a/one", written.metadata?.resourceVersion ?? "").then(() => (done = true));
    await waiting;
    expect(done).toBe(true);
    const newer = src.update({ ...written, spec: { owner: "y" } });
    await store.waitFor("a/one", written.metadata?.resourceVersion ?? "");
    expect(newerOrSame(newer.metadata?.resourceVersion, written.metadata?.resourceVersion ?? "")).toBe(true);
  });

  it("does not resolve before the cache has caught up", async () => {
    const clock = new ManualClock();
    const src = new MemorySource<Thing>();
    const store = await storeOver({ "": src }, clock);
    let done = false;
    void store.waitFor("a/one", "99").then(() => (done = true));
    src.add(thing("a", "one"));
    await settle(10);
    expect(done).toBe(false);
    await clock.advance(CACHE_WAIT_MS);
    expect(done).toBe(true);
  });

  it("waits for a deletion to reach the cache", async () => {
    const src = new MemorySource<Thing>();
    const obj = src.add(thing("a", "one"));
    const store = await storeOver({ "": src });
    let gone = false;
    const waiting = store.waitFor("a/one", null).then(() => (gone = true));
    await settle();
    expect(gone).toBe(false);
    src.delete(obj);
    await waiting;
    expect(store.get("a", "one")).toBeUndefined();
  });
});

describe("newerOrSame", () => {
  it("compares etcd revisions as numbers and anything else only for equality", () => {
    expect(newerOrSame("10", "9")).toBe(true);
    expect(newerOrSame("9", "10")).toBe(false);
    expect(newerOrSame("123456789012345678901234567890", "123456789012345678901234567889")).toBe(true);
    expect(newerOrSame("abc", "abc")).toBe(true);
    expect(newerOrSame("abd", "abc")).toBe(false);
    expect(newerOrSame(undefined, "1")).toBe(false);
  });
});
