import { afterEach, describe, expect, it } from "vitest";
import { EventRecorder } from "../../../src/controller/runtime/events.ts";
import { Manager } from "../../../src/controller/runtime/manager.ts";
import { RuntimeMetrics } from "../../../src/controller/runtime/metrics.ts";
import { Resources } from "../../../src/kube/resources.ts";
import { parseKey, type CoreEvent, type KubeObject, type Lease } from "../../../src/kube/types.ts";
import { WriteCounter } from "../../../src/kube/writes.ts";
import { client, waitFor, useTestNamespace } from "./support.ts";

const admin = client("keyward-manager-test");
const ns = useTestNamespace(admin, "rt-manager");

const managers: Manager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.shutdown()));
});

interface Replica {
  manager: Manager;
  reconciled: string[];
}

/** A replica of a controller that labels every ConfigMap of a suite once (level-based). */
function replica(id: string, suite: string, opts: { resyncPeriodMs?: number; election?: boolean } = {}): Replica {
  const manager = new Manager({
    client: client(`keyward-${id}`, new WriteCounter()),
    leaderElection: opts.election === false ? false : { namespace: ns.name, name: `lease-${suite}`, identity: id, leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 },
    runtimeMetrics: new RuntimeMetrics({ processMetrics: false }),
    informerDefaults: { resyncPeriodMs: opts.resyncPeriodMs ?? 0 },
    health: { port: 0, host: "127.0.0.1" },
  });
  managers.push(manager);
  const r: Replica = { manager, reconciled: [] };
  const configMaps = manager.informer(Resources.configMaps, { namespace: ns.name, labelSelector: `suite=${suite}` });
  manager.addController({
    name: "labeller",
    watches: [{ informer: configMaps }],
    reconcile: async (key) => {
      r.reconciled.push(key);
      const cm = configMaps.get(key);
      if (cm === undefined || cm.metadata?.labels?.labelled === id) return;
      await manager.client.mergePatch(Resources.configMaps, parseKey(key), { metadata: { labels: { labelled: id } } });
    },
  });
  return r;
}

async function configMap(suite: string, name: string): Promise<void> {
  await admin.create(Resources.configMaps, { metadata: { namespace: ns.name, name, labels: { suite } } });
}

async function labelOf(name: string): Promise<string | undefined> {
  return (await admin.get(Resources.configMaps, { namespace: ns.name, name })).metadata?.labels?.labelled;
}

describe("Manager on a real control plane", () => {
  it("runs the controllers of the leader only, and hands over on graceful shutdown", async () => {
    await configMap("ha", "first");
    const one = replica("one", "ha");
    const two = replica("two", "ha");
    await Promise.all([one.manager.start(), two.manager.start()]);
    const leader = await waitFor("a leader", () => (one.manager.isLeader() ? one : two.manager.isLeader() ? two : undefined));
    const follower = leader === one ? two : one;
    await waitFor("the leader to label the ConfigMap", async () => (await labelOf("first")) === leader.manager.identity);
    expect(follower.reconciled).toEqual([]);
    expect(follower.manager.client.writes.count((_v, resource) => resource !== "leases.coordination.k8s.io")).toBe(0);

    await leader.manager.shutdown();
    const released = (await admin.get<Lease>(Resources.leases, { namespace: ns.name, name: "lease-ha" })).spec;
    await waitFor("the follower to take over", () => follower.manager.isLeader());
    await configMap("ha", "second");
    await waitFor("the new leader to label", async () => (await labelOf("second")) === follower.manager.identity);
    expect(["", follower.manager.identity]).toContain(released?.holderIdentity);
  });

  it("makes no API write on a full resync when nothing changed", async () => {
    await configMap("resync", "a");
    await configMap("resync", "b");
    const r = replica("solo", "resync", { resyncPeriodMs: 500, election: false });
    await r.manager.start();
    await waitFor("both labelled", async () => (await labelOf("a")) === "solo" && (await labelOf("b")) === "solo");
    const informer = r.manager.informer(Resources.configMaps, { namespace: ns.name, labelSelector: "suite=resync" });
    await waitFor("the label updates to come back through the watch", () => r.reconciled.length >= 4);
    const writes = r.manager.client.writes.count();
    const resyncs = informer.stats.resyncs;
    await waitFor("two more resyncs", () => informer.stats.resyncs >= resyncs + 2 && r.reconciled.length >= 8);
    expect(r.manager.client.writes.count()).toBe(writes);
  });

  it("answers /readyz once synced and stops answering after shutdown", async () => {
    const r = replica("probe", "probe", { election: false });
    await r.manager.start();
    const port = r.manager.healthAddress!.port;
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    await r.manager.shutdown();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});

describe("EventRecorder on a real control plane", () => {
  it("writes Events the API server accepts, and folds repeats into a count", async () => {
    const target = await admin.create<KubeObject>(Resources.configMaps, { metadata: { namespace: ns.name, name: "evented" } });
    const recorder = new EventRecorder<"Labelled" | "Broken">({ client: admin, component: "keyward-controller", instance: "test-pod" });
    await recorder.normal(target, "Labelled", "labelled by test");
    await recorder.normal(target, "Labelled", "labelled by test");
    await recorder.warning(target, "Broken", "AccessPolicy read does not exist");
    const events = (await admin.list<CoreEvent>(Resources.events, { namespace: ns.name, fieldSelector: `involvedObject.uid=${target.metadata!.uid!}` })).items;
    const byReason = new Map(events.map((e) => [e.reason, e]));
    expect(events).toHaveLength(2);
    expect(byReason.get("Labelled")).toMatchObject({ type: "Normal", count: 2, message: "labelled by test", source: { component: "keyward-controller", host: "test-pod" } });
    expect(byReason.get("Broken")).toMatchObject({ type: "Warning", count: 1 });
    expect(byReason.get("Labelled")!.involvedObject).toMatchObject({ kind: "ConfigMap", name: "evented", namespace: ns.name, uid: target.metadata!.uid });
  });
});
