/* eslint-disable @typescript-eslint/require-await -- reconcile functions are async by contract; the ones in these tests do no I/O. */
import { afterEach, describe, expect, it } from "vitest";
import { Controller, mapByIndex, mapToAll, mapToOwner, type ControllerObserver, type ControllerOptions } from "../../../src/controller/runtime/controller.ts";
import { Outcome, TerminalError } from "../../../src/controller/runtime/outcome.ts";
import { ManualClock, settle } from "../../../src/kube/clock.ts";
import { Informer } from "../../../src/kube/informer.ts";
import { MemorySource, obj } from "../../kube/support/memory-source.ts";

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const stoppers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stoppers.splice(0)) await stop();
});

async function informerOf(src: MemorySource, clock: ManualClock): Promise<Informer> {
  const inf = new Informer(src, { clock, resyncPeriodMs: 0 });
  inf.start();
  stoppers.push(() => inf.stop());
  await inf.waitForSync();
  await settle();
  return inf;
}

function controller(opts: Omit<ControllerOptions, "name"> & { name?: string }): Controller {
  const c = new Controller({ name: "test", ...opts });
  stoppers.unshift(() => c.stop());
  return c;
}

describe("Controller", () => {
  it("reconciles every cached object on start, then each changed object", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    src.add(obj("b", "other"));
    const inf = await informerOf(src, clock);
    const seen: string[] = [];
    const c = controller({ clock, watches: [{ informer: inf }], reconcile: async (key) => void seen.push(key) });
    c.start();
    await settle();
    expect(seen.sort()).toEqual(["acme/a", "other/b"]);
    src.update(obj("a", "acme", { data: { x: "1" } }));
    src.delete(obj("b", "other"));
    await settle();
    expect(seen.slice(2)).toEqual(["acme/a", "other/b"]);
  });

  it("reconciles a key again after requeueAfter, on the injected clock", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    const inf = await informerOf(src, clock);
    let runs = 0;
    const c = controller({
      clock,
      watches: [{ informer: inf }],
      reconcile: async () => {
        runs++;
        return Outcome.requeueAfter(60_000);
      },
    });
    c.start();
    await settle();
    expect(runs).toBe(1);
    await clock.advance(59_999);
    expect(runs).toBe(1);
    await clock.advance(1);
    expect(runs).toBe(2);
  });

  it("backs off a failing key exponentially and resets once it succeeds", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    const inf = await informerOf(src, clock);
    const attempts: number[] = [];
    let failing = true;
    const c = controller({
      clock,
      backoff: { baseMs: 100, maxMs: 10_000 },
      watches: [{ informer: inf }],
      reconcile: async (_key, ctx) => {
        attempts.push(ctx.attempt);
        if (failing) throw new Error("api down");
      },
    });
    c.start();
    await settle();
    await clock.advance(100);
    await clock.advance(200);
    expect(attempts).toEqual([0, 1, 2]);
    await clock.advance(399);
    expect(attempts).toHaveLength(3);
    failing = false;
    await clock.advance(1);
    expect(attempts).toEqual([0, 1, 2, 3]);
    expect(c.queue!.numRequeues("acme/a")).toBe(0);
    expect(c.queue!.delayedCount()).toBe(0);
  });

  it("requeues a key whose reconcile asks to back off, with capped exponential delays per key, without counting an error", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    src.add(obj("b"));
    const inf = await informerOf(src, clock);
    const runs: Record<string, number[]> = { "acme/a": [], "acme/b": [] };
    const results: string[] = [];
    const observer: ControllerObserver = { reconciled: (_c, outcome) => void results.push(outcome) };
    let failing = true;
    const c = controller({
      clock,
      observer,
      backoff: { baseMs: 100, maxMs: 400 },
      watches: [{ informer: inf }],
      reconcile: async (key) => {
        runs[key]!.push(clock.now());
        return key === "acme/a" && failing ? Outcome.backoff("key generation failed") : Outcome.done();
      },
    });
    c.start();
    await settle();
    const t0 = clock.now();
    for (const step of [100, 200, 400, 400]) await clock.advance(step);
    expect(runs["acme/a"]!.map((t) => t - t0)).toEqual([0, 100, 300, 700, 1100]);
    expect(runs["acme/b"]).toHaveLength(1);
    expect(results).not.toContain("error");
    expect(results.filter((r) => r === "backoff")).toHaveLength(5);
    failing = false;
    await clock.advance(400);
    expect(runs["acme/a"]).toHaveLength(6);
    expect(c.queue!.numRequeues("acme/a")).toBe(0);
    await clock.advance(10_000);
    expect(runs["acme/a"]).toHaveLength(6);
  });

  it("does not requeue a key whose reconcile failed with a TerminalError, and reconciles it on its next change", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    const inf = await informerOf(src, clock);
    let runs = 0;
    const results: string[] = [];
    const c = controller({
      clock,
      observer: { reconciled: (_c, outcome) => void results.push(outcome) },
      watches: [{ informer: inf }],
      reconcile: async () => {
        runs++;
        throw new TerminalError("spec.x cannot be used: fix it");
      },
    });
    c.start();
    await settle();
    expect(runs).toBe(1);
    expect(results).toEqual(["error"]);
    await clock.advance(60 * 60_000);
    expect(runs).toBe(1);
    expect(c.queue!.delayedCount()).toBe(0);
    src.update(obj("a", "acme", { spec: { changed: true } }));
    await settle();
    expect(runs).toBe(2);
  });

  it("follows an errorPolicy that asks for a fixed requeueAfter instead of backoff", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    const inf = await informerOf(src, clock);
    let runs = 0;
    const policyCalls: string[] = [];
    const c = controller({
      clock,
      watches: [{ informer: inf }],
      errorPolicy: (key, err) => {
        policyCalls.push(`${key}: ${(err as Error).message}`);
        return { requeueAfter: 5_000 };
      },
      reconcile: async () => {
        runs++;
        throw new Error("policy missing");
      },
    });
    c.start();
    await settle();
    expect(policyCalls).toEqual(["acme/a: policy missing"]);
    await clock.advance(4_999);
    expect(runs).toBe(1);
    await clock.advance(1);
    expect(runs).toBe(2);
    expect(c.queue!.numRequeues("acme/a")).toBe(0);
  });

  it("never reconciles one key in two workers at once, and runs a change made meanwhile afterwards", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    src.add(obj("b"));
    const inf = await informerOf(src, clock);
    const gates = new Map<string, Deferred[]>();
    let active = new Set<string>();
    let maxParallel = 0;
    const runs: string[] = [];
    let overlaps = 0;
    const c = controller({
      clock,
      workers: 3,
      watches: [{ informer: inf }],
      reconcile: async (key) => {
        if (active.has(key)) overlaps++;
        active.add(key);
        maxParallel = Math.max(maxParallel, active.size);
        runs.push(key);
        const gate = deferred();
        gates.set(key, [...(gates.get(key) ?? []), gate]);
        await gate.promise;
        active = new Set([...active].filter((k) => k !== key));
      },
    });
    c.start();
    await settle();
    expect(maxParallel).toBe(2);
    src.update(obj("a", "acme", { data: { v: "2" } }));
    src.update(obj("a", "acme", { data: { v: "3" } }));
    await settle();
    expect(runs.filter((k) => k === "acme/a")).toHaveLength(1);
    gates.get("acme/a")![0]!.resolve();
    await settle();
    expect(runs.filter((k) => k === "acme/a")).toHaveLength(2);
    for (const list of gates.values()) for (const g of list) g.resolve();
    await settle();
    expect(overlaps).toBe(0);
  });

  it("maps watched objects to the keys of their owners", async () => {
    const clock = new ManualClock();
    const keys = new MemorySource();
    const secrets = new MemorySource();
    keys.add(obj("reporting"));
    const keyInf = await informerOf(keys, clock);
    const secretInf = await informerOf(secrets, clock);
    const seen: string[] = [];
    const c = controller({
      clock,
      watches: [{ informer: keyInf }, { informer: secretInf, map: mapToOwner({ group: "keyward.dev", kind: "ApiKey" }, { controllerOnly: true }) }],
      reconcile: async (key) => void seen.push(key),
    });
    c.start();
    await settle();
    seen.length = 0;
    secrets.add(
      obj("reporting-keys", "acme", {
        metadata: {
          name: "reporting-keys",
          namespace: "acme",
          ownerReferences: [
            { apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", name: "reporting", uid: "u1", controller: true },
            { apiVersion: "other.dev/v1", kind: "ApiKey", name: "foreign", uid: "u2", controller: false },
          ],
        },
      }),
    );
    secrets.add(obj("unowned"));
    await settle();
    expect(seen).toEqual(["acme/reporting"]);
  });

  it("maps an AccessPolicy to every ApiKey naming it through an index", async () => {
    const clock = new ManualClock();
    const keys = new MemorySource();
    const policies = new MemorySource();
    keys.add(obj("k1", "acme", { spec: { policies: ["read"] } }));
    keys.add(obj("k2", "acme", { spec: { policies: ["read", "write"] } }));
    keys.add(obj("k3", "other", { spec: { policies: ["read"] } }));
    const keyInf = await informerOf(keys, clock);
    keyInf.addIndex("policy", (k) => ((k as { spec?: { policies?: string[] } }).spec?.policies ?? []).map((p) => `${k.metadata!.namespace!}/${p}`));
    const policyInf = await informerOf(policies, clock);
    const seen: string[] = [];
    const c = controller({
      clock,
      watches: [{ informer: keyInf }, { informer: policyInf, map: mapByIndex(keyInf, "policy") }],
      reconcile: async (key) => void seen.push(key),
    });
    c.start();
    await settle();
    seen.length = 0;
    policies.add(obj("read"));
    await settle();
    expect(seen.sort()).toEqual(["acme/k1", "acme/k2"]);
  });

  it("maps a cluster-scoped object to every object of another informer", async () => {
    const clock = new ManualClock();
    const keys = new MemorySource();
    const clusterPolicies = new MemorySource();
    keys.add(obj("k1", "one"));
    keys.add(obj("k2", "two"));
    const keyInf = await informerOf(keys, clock);
    const cpInf = await informerOf(clusterPolicies, clock);
    const seen: string[] = [];
    const c = controller({
      clock,
      watches: [{ informer: keyInf }, { informer: cpInf, map: mapToAll(keyInf) }],
      reconcile: async (key) => void seen.push(key),
    });
    c.start();
    await settle();
    seen.length = 0;
    clusterPolicies.add({ metadata: { name: "default" } });
    await settle();
    expect(seen.sort()).toEqual(["one/k1", "two/k2"]);
  });

  it("drops events a filter rejects", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a", "acme", { metadata: { name: "a", namespace: "acme", generation: 1 } }));
    const inf = await informerOf(src, clock);
    const seen: string[] = [];
    const c = controller({
      clock,
      watches: [
        {
          informer: inf,
          filter: (kind, o, old) => kind !== "update" || old?.metadata?.generation !== o.metadata?.generation,
        },
      ],
      reconcile: async (key) => void seen.push(key),
    });
    c.start();
    await settle();
    src.update(obj("a", "acme", { metadata: { name: "a", namespace: "acme", generation: 1 }, status: { x: 1 } }));
    await settle();
    expect(seen).toEqual(["acme/a"]);
    src.update(obj("a", "acme", { metadata: { name: "a", namespace: "acme", generation: 2 } }));
    await settle();
    expect(seen).toEqual(["acme/a", "acme/a"]);
  });

  it("on stop lets the in-flight reconcile finish, drops queued keys and takes no more events", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    const inf = await informerOf(src, clock);
    const gate = deferred();
    const seen: string[] = [];
    let finished = false;
    const c = controller({
      clock,
      watches: [{ informer: inf }],
      reconcile: async (key, ctx) => {
        seen.push(key);
        await gate.promise;
        finished = !ctx.signal.aborted;
      },
    });
    c.start();
    await settle();
    src.add(obj("b"));
    await settle();
    let stopped = false;
    const stopping = c.stop().then(() => (stopped = true));
    src.add(obj("c"));
    await settle();
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(seen).toEqual(["acme/a"]);
    expect(c.running).toBe(false);
  });

  it("aborts the signal of in-flight reconciles when stopped with abort", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    const inf = await informerOf(src, clock);
    let aborted = false;
    const c = controller({
      clock,
      watches: [{ informer: inf }],
      reconcile: (_key, ctx) =>
        new Promise<void>((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            aborted = true;
            resolve();
          });
        }),
    });
    c.start();
    await settle();
    await c.stop({ abort: true });
    expect(aborted).toBe(true);
  });

  it("starts again after a stop with a fresh queue and reconciles everything again", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("a"));
    const inf = await informerOf(src, clock);
    const seen: string[] = [];
    const c = controller({ clock, watches: [{ informer: inf }], reconcile: async (key) => void seen.push(key) });
    c.start();
    await settle();
    await c.stop();
    c.start();
    await settle();
    expect(seen).toEqual(["acme/a", "acme/a"]);
  });

  it("reports each reconcile to its observer", async () => {
    const clock = new ManualClock();
    const src = new MemorySource();
    src.add(obj("ok"));
    src.add(obj("bad"));
    const inf = await informerOf(src, clock);
    const outcomes: string[] = [];
    const c = controller({
      name: "apikey",
      clock,
      watches: [{ informer: inf }],
      observer: { reconciled: (name, outcome) => outcomes.push(`${name} ${outcome}`) },
      reconcile: async (key) => {
        if (key === "acme/bad") throw new Error("x");
      },
    });
    c.start();
    await settle();
    expect(outcomes.sort()).toEqual(["apikey error", "apikey success"]);
  });

  it("refuses a controller without watches or with a worker count below one", () => {
    expect(() => new Controller({ name: "x", watches: [], reconcile: async () => undefined })).toThrow(/at least one watch/);
    const inf = new Informer(new MemorySource());
    expect(() => new Controller({ name: "x", watches: [{ informer: inf }], workers: 0, reconcile: async () => undefined })).toThrow(/workers/);
  });
});
