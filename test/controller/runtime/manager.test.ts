import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Manager, type ManagerOptions } from "../../../src/controller/runtime/manager.ts";
import { RuntimeMetrics } from "../../../src/controller/runtime/metrics.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import { ManualClock } from "../../../src/kube/clock.ts";
import { Resources } from "../../../src/kube/resources.ts";
import { parseKey } from "../../../src/kube/types.ts";
import { FakeApiServer, status } from "../../kube/support/fake-apiserver.ts";

let api: FakeApiServer;
beforeAll(async () => {
  api = await FakeApiServer.start();
});
afterAll(async () => {
  await api.stop();
});

const managers: Manager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.shutdown()));
});

let n = 0;
function namespace(): string {
  return `mgr-${++n}`;
}

function manager(clock: ManualClock, opts: Partial<ManagerOptions> = {}): Manager {
  const m = new Manager({
    client: new KubeClient({ kubeConfig: api.kubeConfig() }),
    clock,
    leaderElection: false,
    runtimeMetrics: new RuntimeMetrics({ processMetrics: false }),
    informerDefaults: { resyncPeriodMs: 0 },
    ...opts,
  });
  managers.push(m);
  return m;
}

async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** A reconciler that labels each ConfigMap once: level-based, so a second pass writes nothing. */
function labeller(m: Manager, ns: string, seen: string[], gate?: () => Promise<void>) {
  const inf = m.informer(Resources.configMaps, { namespace: ns });
  return m.addController({
    name: "labeller",
    watches: [{ informer: inf }],
    reconcile: async (key) => {
      seen.push(key);
      await gate?.();
      const cm = inf.get(key);
      if (cm === undefined || cm.metadata?.labels?.seen === "yes") return;
      await m.client.mergePatch(Resources.configMaps, parseKey(key), { metadata: { labels: { seen: "yes" } } });
    },
  });
}

describe("Manager", () => {
  it("answers /readyz 503 until the caches sync, then 200; /healthz 200 throughout", async () => {
    const clock = new ManualClock();
    const ns = namespace();
    const m = manager(clock, { health: { port: 0, host: "127.0.0.1" } });
    labeller(m, ns, []);
    const remove = api.inject((r) => (r.method === "GET" && r.path === `/api/v1/namespaces/${ns}/configmaps` && r.query.get("watch") === null ? { status: 403, body: status(403, "Forbidden", "no") } : undefined));
    const starting = m.start();
    await expect.poll(() => api.requests.some((r) => r.path === `/api/v1/namespaces/${ns}/configmaps`)).toBe(true);
    const port = m.healthAddress!.port;
    const notReady = await httpGet(port, "/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.body).toContain(`caches not synced: configmaps in ${ns}`);
    expect((await httpGet(port, "/healthz")).status).toBe(200);
    remove();
    await clock.advance(1_000);
    await starting;
    expect(m.isReady()).toBe(true);
    expect(await httpGet(port, "/readyz")).toEqual({ status: 200, body: "ok\n" });
    expect((await httpGet(port, "/nope")).status).toBe(404);
  });

  it("runs controllers without election, and a resync with nothing changed writes nothing", async () => {
    const clock = new ManualClock();
    const ns = namespace();
    api.seed("v1/configmaps", { metadata: { name: "a", namespace: ns } });
    const m = manager(clock, { informerDefaults: { resyncPeriodMs: 60_000 } });
    const seen: string[] = [];
    labeller(m, ns, seen);
    await m.start();
    await expect.poll(() => api.object("v1/configmaps", ns, "a")?.metadata.labels).toEqual({ seen: "yes" });
    await expect.poll(() => seen.length).toBeGreaterThanOrEqual(2); // the label change comes back as an update
    const writes = m.client.writes.count();
    const reconciles = seen.length;
    await clock.advance(60_000);
    await expect.poll(() => seen.length).toBe(reconciles + 1);
    expect(m.client.writes.count()).toBe(writes);
  });

  it("exports reconcile, queue, write, leader and informer metrics on the metrics port", async () => {
    const clock = new ManualClock();
    const ns = namespace();
    api.seed("v1/configmaps", { metadata: { name: "a", namespace: ns } });
    const m = manager(clock, { metrics: { port: 0, host: "127.0.0.1" } });
    labeller(m, ns, []);
    await m.start();
    await expect.poll(() => api.object("v1/configmaps", ns, "a")?.metadata.labels).toEqual({ seen: "yes" });
    const { status: code, body } = await httpGet(m.metricsAddress!.port, "/metrics");
    expect(code).toBe(200);
    expect(body).toMatch(/keyward_reconcile_total\{controller="labeller",result="success"\} [1-9]/);
    expect(body).toContain('keyward_api_writes_total{verb="patch",resource="configmaps"} 1');
    expect(body).toContain('keyward_workqueue_depth{controller="labeller"} 0');
    expect(body).toContain("keyward_leader 1");
    expect(body).toContain(`keyward_informer_synced{informer="configmaps in ${ns}"} 1`);
    expect(body).toContain("keyward_reconcile_duration_seconds_bucket");
  });

  it("shares one informer between controllers asking for the same resource and options", () => {
    const m = manager(new ManualClock());
    expect(m.informer(Resources.secrets, { namespace: "a" })).toBe(m.informer(Resources.secrets, { namespace: "a" }));
    expect(m.informer(Resources.secrets, { namespace: "a" })).not.toBe(m.informer(Resources.secrets, { namespace: "b" }));
  });

  it("runs controllers only on the leader, and on shutdown finishes in-flight work before handing over", async () => {
    const clock = new ManualClock();
    const ns = namespace();
    const lease = { namespace: ns, name: "keyward-controller" };
    api.seed("v1/configmaps", { metadata: { name: "a", namespace: ns } });
    const seen = new Map<string, string[]>([
      ["one", []],
      ["two", []],
    ]);
    let release: (() => void) | undefined;
    const block = new Promise<void>((r) => (release = r));
    let blocking = true;
    const make = (id: string): Manager => {
      const m = manager(clock, { leaderElection: { ...lease, identity: id } });
      labeller(m, ns, seen.get(id)!, async () => {
        if (blocking) await block;
      });
      return m;
    };
    const one = make("one");
    await one.start();
    await expect.poll(() => one.isLeader()).toBe(true);
    const two = make("two");
    await two.start();
    await expect.poll(() => seen.get("one")!.length).toBe(1); // blocked inside its reconcile
    await clock.advance(4_000);
    expect(two.isLeader()).toBe(false);
    expect(seen.get("two")).toEqual([]);

    const stopping = one.shutdown();
    await expect.poll(() => one.isReady()).toBe(false);
    await clock.advance(4_000);
    expect(api.object("coordination.k8s.io/v1/leases", ns, "keyward-controller")?.spec).toMatchObject({ holderIdentity: "one" });
    expect(two.isLeader()).toBe(false);
    blocking = false;
    release!();
    await stopping;
    expect(api.object("coordination.k8s.io/v1/leases", ns, "keyward-controller")?.spec).toMatchObject({ holderIdentity: "" });
    await clock.advance(2_500);
    await expect.poll(() => two.isLeader()).toBe(true);
    await expect.poll(() => seen.get("two")!.length).toBeGreaterThanOrEqual(1);
  });

  it("stops being ready and stops informers and servers on shutdown", async () => {
    const clock = new ManualClock();
    const m = manager(clock, { health: { port: 0, host: "127.0.0.1" } });
    const inf = m.informer(Resources.configMaps, { namespace: namespace() });
    await m.start();
    const port = m.healthAddress!.port;
    await m.shutdown();
    expect(m.state).toBe("stopped");
    expect(inf.running).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    await m.done;
  });

  it("shuts down gracefully on SIGTERM once signal handlers are installed, and removes them on request", async () => {
    const m = manager(new ManualClock());
    m.informer(Resources.configMaps, { namespace: namespace() });
    await m.start();
    const remove = m.handleSignals();
    expect(process.listenerCount("SIGTERM")).toBe(1);
    expect(process.listenerCount("SIGINT")).toBe(1);
    process.emit("SIGTERM", "SIGTERM");
    await m.done;
    expect(m.state).toBe("stopped");
    remove();
    expect(process.listenerCount("SIGTERM")).toBe(0);
    expect(process.listenerCount("SIGINT")).toBe(0);
  });
});
