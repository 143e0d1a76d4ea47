import { afterEach, describe, expect, it } from "vitest";
import { Informer, listWatch, type ListWatchSource } from "../../../src/kube/informer.ts";
import { Resources } from "../../../src/kube/resources.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { client, waitFor, gadgets, installGadgetCrd, useTestNamespace } from "./support.ts";

const kube = client();
const ns = useTestNamespace(kube, "rt-informer");

const informers: Informer[] = [];
afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
});

interface Log {
  events: string[];
}

function observe(inf: Informer): Log {
  const log: Log = { events: [] };
  inf.addHandlers({
    add: (o) => log.events.push(`add ${o.metadata!.name!}`),
    update: (old, o) => {
      if (old !== o) log.events.push(`update ${o.metadata!.name!} ${(o as { data?: { v?: string } }).data?.v ?? ""}`);
    },
    delete: (o) => log.events.push(`delete ${o.metadata!.name!}`),
  });
  return log;
}

function start(source: ListWatchSource<KubeObject>): { inf: Informer; log: Log } {
  const inf = new Informer(source, { resyncPeriodMs: 0, backoff: { initialMs: 100, maxMs: 1_000 } });
  informers.push(inf);
  const log = observe(inf);
  inf.start();
  return { inf, log };
}

function configMap(name: string, labels: Record<string, string>, v = "1"): KubeObject & { data: Record<string, string> } {
  return { metadata: { name, namespace: ns.name, labels }, data: { v } };
}

describe("Informer against the API server", () => {
  it("lists what exists, then receives adds, updates and deletes", async () => {
    const labels = { suite: "basic" };
    await kube.create(Resources.configMaps, configMap("before", labels));
    const { inf, log } = start(listWatch(kube, Resources.configMaps, { namespace: ns.name, labelSelector: "suite=basic" }));
    expect(await inf.waitForSync()).toBe(true);
    expect(inf.keys()).toEqual([`${ns.name}/before`]);
    await kube.create(Resources.configMaps, configMap("after", labels));
    await kube.mergePatch(Resources.configMaps, { namespace: ns.name, name: "after" }, { data: { v: "2" } });
    await kube.delete(Resources.configMaps, { namespace: ns.name, name: "before" });
    await kube.create(Resources.configMaps, configMap("unlabelled", {}));
    await waitFor("the delete to arrive", () => log.events.includes("delete before"));
    expect(log.events).toEqual(["add before", "add after", "update after 2", "delete before"]);
    expect(inf.keys()).toEqual([`${ns.name}/after`]);
  });

  it("resumes from its last resourceVersion after the server closes the watch, missing nothing", async () => {
    const labels = { suite: "timeout" };
    const { inf, log } = start(listWatch(kube, Resources.configMaps, { namespace: ns.name, labelSelector: "suite=timeout", watchTimeoutSeconds: 1 }));
    await inf.waitForSync();
    for (let i = 0; i < 3; i++) {
      const ended = inf.stats.restarts["watch-ended"];
      await waitFor("the server to end the watch", () => inf.stats.restarts["watch-ended"] > ended);
      await kube.create(Resources.configMaps, configMap(`c${i}`, labels));
    }
    await waitFor("every add", () => log.events.length === 3);
    expect(log.events).toEqual(["add c0", "add c1", "add c2"]);
    expect(inf.stats.lists).toBe(1);
    expect(inf.stats.restarts.gone).toBe(0);
  });

  it("relists after 410 Gone and catches up with what it missed", async () => {
    await installGadgetCrd(kube);
    const real = listWatch<KubeObject>(kube, gadgets, { namespace: ns.name, watchTimeoutSeconds: 1 });
    let expireNext = false;
    // The second watch asks for a resourceVersion older than anything the API server still
    // holds for this resource (its watch cache started when the CRD was installed), as a
    // client that was disconnected for too long would.
    const source: ListWatchSource<KubeObject> = {
      description: real.description,
      list: (signal) => real.list(signal),
      watch: (rv, signal) => {
        const from = expireNext ? "1" : rv;
        expireNext = false;
        return real.watch(from, signal);
      },
    };
    await kube.create(gadgets, { metadata: { namespace: ns.name, name: "old" } });
    const { inf, log } = start(source);
    await inf.waitForSync();
    expireNext = true;
    await kube.create(gadgets, { metadata: { namespace: ns.name, name: "missed" } });
    await kube.delete(gadgets, { namespace: ns.name, name: "old" });
    await waitFor("the relist after 410 Gone", () => inf.stats.restarts.gone >= 1 && inf.stats.lists >= 2);
    await waitFor("the missed changes", () => log.events.includes("add missed") && log.events.includes("delete old"));
    expect(inf.keys()).toEqual([`${ns.name}/missed`]);
  });

  it("watches all namespaces of a cluster-wide informer", async () => {
    const labels = { suite: "wide" };
    const { inf, log } = start(listWatch(kube, Resources.configMaps, { labelSelector: "suite=wide" }));
    await inf.waitForSync();
    await kube.create(Resources.configMaps, configMap("anywhere", labels));
    await waitFor("the add", () => log.events.includes("add anywhere"));
    expect(inf.get(`${ns.name}/anywhere`)).toBeDefined();
  });
});
