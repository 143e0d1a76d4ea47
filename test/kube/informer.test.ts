import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, settle } from "../../src/kube/clock.ts";
import { ForbiddenError } from "../../src/kube/errors.ts";
import { Informer } from "../../src/kube/informer.ts";
import type { KubeObject } from "../../src/kube/types.ts";
import { MemorySource, gone, obj } from "./support/memory-source.ts";

type Seen = Array<[string, string, string?]>;

function record(inf: Informer): Seen {
  const seen: Seen = [];
  inf.addHandlers({
    add: (o) => seen.push(["add", o.metadata!.name!]),
    update: (old, o) => seen.push(["update", o.metadata!.name!, old === o ? "resync" : old.metadata!.resourceVersion]),
    delete: (o) => seen.push(["delete", o.metadata!.name!]),
  });
  return seen;
}

const running: Informer[] = [];

function setup(opts: { resyncPeriodMs?: number } = {}): { src: MemorySource; clock: ManualClock; inf: Informer; seen: Seen } {
  const src = new MemorySource();
  const clock = new ManualClock();
  const inf = new Informer(src, { clock, random: () => 0, resyncPeriodMs: opts.resyncPeriodMs ?? 0, backoff: { initialMs: 100, maxMs: 1_000 } });
  running.push(inf);
  const seen = record(inf);
  return { src, clock, inf, seen };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((i) => i.stop()));
});

describe("Informer", () => {
  it("lists into the cache, reports synced, then delivers watch events", async () => {
    const { src, inf, seen } = setup();
    src.add(obj("a"));
    expect(inf.hasSynced()).toBe(false);
    inf.start();
    expect(await inf.waitForSync()).toBe(true);
    expect(inf.keys()).toEqual(["acme/a"]);
    await settle();
    const b = src.add(obj("b"));
    src.update({ ...b, data: { k: "v" } } as KubeObject);
    src.delete(obj("a"));
    await settle();
    expect(seen.map((s) => s.slice(0, 2))).toEqual([
      ["add", "a"],
      ["add", "b"],
      ["update", "b"],
      ["delete", "a"],
    ]);
    expect(inf.keys()).toEqual(["acme/b"]);
    expect((inf.get("acme/b") as { data?: unknown }).data).toEqual({ k: "v" });
    expect(inf.resourceVersion).toBe(src.resourceVersion);
  });

  it("watches from the resourceVersion of its list", async () => {
    const { src, inf } = setup();
    src.add(obj("a"));
    inf.start();
    await inf.waitForSync();
    await settle();
    expect(src.watchCalls).toEqual([src.listCalls[0]]);
  });

  it("resumes the watch from the last resourceVersion after the server ends it, without relisting", async () => {
    const { src, inf, seen } = setup();
    inf.start();
    await inf.waitForSync();
    await settle();
    src.add(obj("a"));
    await settle();
    const rvBeforeEnd = inf.resourceVersion;
    src.endWatch();
    await settle();
    expect(src.listCalls).toHaveLength(1);
    expect(src.watchCalls.at(-1)).toBe(rvBeforeEnd);
    src.add(obj("b"));
    await settle();
    expect(seen.map((s) => s[1])).toEqual(["a", "b"]);
    expect(inf.stats.restarts["watch-ended"]).toBe(1);
  });

  it("resumes after a broken watch with backoff that grows while the watch keeps failing", async () => {
    const { src, clock, inf } = setup();
    inf.start();
    await inf.waitForSync();
    await settle();
    src.failWatches(new Error("reset"), new Error("reset"));
    src.breakWatch();
    await settle();
    expect(src.watchCalls).toHaveLength(1);
    await clock.advance(99);
    expect(src.watchCalls).toHaveLength(1);
    await clock.advance(1); // 100 ms after the first failure
    expect(src.watchCalls).toHaveLength(2);
    await clock.advance(199);
    expect(src.watchCalls).toHaveLength(2);
    await clock.advance(1); // 200 ms after the second
    expect(src.watchCalls).toHaveLength(3);
    await clock.advance(400); // third attempt failed at once too: 400 ms
    expect(src.watchCalls).toHaveLength(4);
    expect(src.listCalls).toHaveLength(1);
    expect(inf.stats.restarts.error).toBe(3);
  });

  it("relists on 410 Gone and turns the difference into add, update and delete", async () => {
    const { src, inf, seen } = setup();
    src.add(obj("keep"));
    src.add(obj("change"));
    src.add(obj("remove"));
    inf.start();
    await inf.waitForSync();
    await settle();
    seen.length = 0;
    src.silently(() => {
      src.add(obj("new"));
      src.update({ ...obj("change"), data: { v: "2" } } as KubeObject);
      src.delete(obj("remove"));
    });
    src.expireWatch();
    await settle();
    expect(src.listCalls).toHaveLength(2);
    expect(seen.map((s) => s.slice(0, 2)).sort()).toEqual([
      ["add", "new"],
      ["delete", "remove"],
      ["update", "change"],
    ]);
    expect(inf.keys().sort()).toEqual(["acme/change", "acme/keep", "acme/new"]);
    expect(inf.stats.restarts.gone).toBe(1);
    expect(src.watchCalls.at(-1)).toBe(src.resourceVersion);
  });

  it("lists again on relist(), turns the difference into add, update and delete, and resolves once that list is applied", async () => {
    const { src, inf, seen } = setup();
    src.add(obj("keep"));
    src.add(obj("remove"));
    inf.start();
    await inf.waitForSync();
    await settle();
    seen.length = 0;
    src.silently(() => {
      src.add(obj("new"));
      src.delete(obj("remove"));
    });
    const listed = Promise.all([inf.relist(), inf.relist()]);
    await settle();
    await listed;
    expect(src.listCalls).toHaveLength(2);
    expect(seen.map((s) => s.slice(0, 2)).sort()).toEqual([
      ["add", "new"],
      ["delete", "remove"],
    ]);
    expect(inf.stats.restarts).toEqual({ "watch-ended": 0, gone: 0, error: 0 });
    expect(src.watching).toBe(true);
  });

  it("keeps retrying a failing list with backoff and syncs once it succeeds", async () => {
    const { src, clock, inf } = setup();
    const forbidden = new ForbiddenError({ verb: "list", resource: "configmaps" }, 403, { message: "forbidden" });
    src.failLists(forbidden, forbidden);
    src.add(obj("a"));
    inf.start();
    await settle();
    expect(inf.hasSynced()).toBe(false);
    await clock.advance(100);
    expect(inf.hasSynced()).toBe(false);
    await clock.advance(200);
    expect(inf.hasSynced()).toBe(true);
    expect(src.listCalls).toHaveLength(3);
  });

  it("backs off when the list itself answers 410 Gone instead of relisting in a hot loop", async () => {
    const { src, clock, inf } = setup();
    src.failLists(gone(), gone());
    inf.start();
    await settle();
    expect(src.listCalls).toHaveLength(1);
    await clock.advance(100);
    expect(src.listCalls).toHaveLength(2);
    await clock.advance(200);
    expect(src.listCalls).toHaveLength(3);
    expect(inf.hasSynced()).toBe(true);
  });

  it("updates the resourceVersion on bookmarks without calling handlers", async () => {
    const { src, inf, seen } = setup();
    inf.start();
    await inf.waitForSync();
    await settle();
    src.bookmark();
    await settle();
    expect(inf.resourceVersion).toBe(src.resourceVersion);
    expect(seen).toEqual([]);
  });

  it("re-delivers every cached object as an update on each resync period", async () => {
    const { src, clock, inf, seen } = setup({ resyncPeriodMs: 60_000 });
    src.add(obj("a"));
    src.add(obj("b"));
    inf.start();
    await inf.waitForSync();
    seen.length = 0;
    await clock.advance(59_999);
    expect(seen).toEqual([]);
    await clock.advance(1);
    expect(seen).toEqual([
      ["update", "a", "resync"],
      ["update", "b", "resync"],
    ]);
    await clock.advance(60_000);
    expect(seen).toHaveLength(4);
    expect(inf.stats.resyncs).toBe(2);
  });

  it("delivers the cache as adds to a handler registered after sync", async () => {
    const { src, inf } = setup();
    src.add(obj("a"));
    inf.start();
    await inf.waitForSync();
    const late = record(inf);
    expect(late).toEqual([["add", "a"]]);
  });

  it("calls no handler after stop, and keeps the cache", async () => {
    const { src, inf, seen } = setup();
    inf.start();
    await inf.waitForSync();
    await settle();
    await inf.stop();
    src.add(obj("late"));
    await settle();
    expect(seen).toEqual([]);
    expect(inf.running).toBe(false);
  });

  it("answers waitForSync with false when stopped before syncing", async () => {
    const { src, inf } = setup();
    src.failLists(new Error("down"));
    inf.start();
    const waiting = inf.waitForSync();
    await settle();
    await inf.stop();
    expect(await waiting).toBe(false);
  });

  it("keeps running when a handler throws", async () => {
    const { src, inf, seen } = setup();
    inf.addHandlers({
      add: () => {
        throw new Error("handler bug");
      },
    });
    inf.start();
    await inf.waitForSync();
    await settle();
    src.add(obj("a"));
    src.add(obj("b"));
    await settle();
    expect(seen.map((s) => s[1])).toEqual(["a", "b"]);
  });

  it("maintains indexes through adds, updates and deletes", async () => {
    const { src, inf } = setup();
    inf.addIndex("policy", (o) => ((o as { spec?: { policies?: string[] } }).spec?.policies ?? []).map((p) => `${o.metadata!.namespace!}/${p}`));
    src.add(obj("k1", "acme", { spec: { policies: ["read"] } }));
    src.add(obj("k2", "acme", { spec: { policies: ["read", "write"] } }));
    inf.start();
    await inf.waitForSync();
    await settle();
    const names = (v: string): string[] => inf.byIndex("policy", v).map((o) => o.metadata!.name!).sort();
    expect(names("acme/read")).toEqual(["k1", "k2"]);
    src.update(obj("k1", "acme", { spec: { policies: ["write"] } }));
    src.delete(obj("k2"));
    await settle();
    expect(names("acme/read")).toEqual([]);
    expect(names("acme/write")).toEqual(["k1"]);
  });

  it("lists objects of one namespace from the cache", async () => {
    const { src, inf } = setup();
    src.add(obj("a", "one"));
    src.add(obj("b", "two"));
    inf.start();
    await inf.waitForSync();
    expect(inf.list("two").map((o) => o.metadata!.name)).toEqual(["b"]);
    expect(inf.getByName("a", "one")?.metadata?.name).toBe("a");
  });
});
