import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { EventRecorder } from "../../../src/controller/runtime/events.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import { ManualClock } from "../../../src/kube/clock.ts";
import type { CoreEvent, KubeObject } from "../../../src/kube/types.ts";
import { FakeApiServer } from "../../kube/support/fake-apiserver.ts";

type Reason = "Rotated" | "PolicyMissing";

let api: FakeApiServer;
let clock: ManualClock;
let client: KubeClient;

beforeAll(async () => {
  api = await FakeApiServer.start();
});
afterAll(async () => {
  await api.stop();
});
beforeEach(() => {
  clock = new ManualClock(Date.UTC(2026, 0, 1));
  client = new KubeClient({ kubeConfig: api.kubeConfig() });
});

let n = 0;
function apiKey(): KubeObject {
  n++;
  return { apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name: `reporting-${n}`, namespace: `tenant-${n}`, uid: `uid-${n}`, resourceVersion: "5" } };
}

function eventsIn(ns: string): CoreEvent[] {
  return api.objects("v1/events").filter((e) => e.metadata.namespace === ns) as unknown as CoreEvent[];
}

function recorder(opts: { burst?: number; refillMs?: number; aggregateWindowMs?: number } = {}): EventRecorder<Reason> {
  return new EventRecorder<Reason>({ client, component: "keyward-controller", instance: "pod-1", clock, ...opts });
}

describe("EventRecorder", () => {
  it("creates a core/v1 Event naming the object, reason, message, type and source", async () => {
    const rec = recorder();
    const key = apiKey();
    await rec.normal(key, "Rotated", "rotated to key 3f2a");
    const [ev] = eventsIn(key.metadata!.namespace!);
    expect(ev).toMatchObject({
      involvedObject: { apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", name: key.metadata!.name, namespace: key.metadata!.namespace, uid: key.metadata!.uid },
      reason: "Rotated",
      message: "rotated to key 3f2a",
      type: "Normal",
      count: 1,
      firstTimestamp: "2026-01-01T00:00:00Z",
      lastTimestamp: "2026-01-01T00:00:00Z",
      source: { component: "keyward-controller", host: "pod-1" },
    });
    expect(ev!.metadata!.name!.startsWith(`${key.metadata!.name!}.`)).toBe(true);
  });

  it("folds repeats into one Event with a count and the last time", async () => {
    const rec = recorder();
    const key = apiKey();
    await rec.warning(key, "PolicyMissing", "AccessPolicy read does not exist");
    await clock.advance(30_000);
    await rec.warning(key, "PolicyMissing", "AccessPolicy read does not exist");
    await clock.advance(30_000);
    await rec.warning(key, "PolicyMissing", "AccessPolicy read does not exist");
    const evs = eventsIn(key.metadata!.namespace!);
    expect(evs).toHaveLength(1);
    expect(evs[0]).toMatchObject({ count: 3, firstTimestamp: "2026-01-01T00:00:00Z", lastTimestamp: "2026-01-01T00:01:00Z" });
    const patch = api.requests.filter((r) => r.method === "PATCH").at(-1)!;
    expect(patch.contentType).toBe("application/merge-patch+json");
  });

  it("keeps different reasons, messages and types apart", async () => {
    const rec = recorder();
    const key = apiKey();
    await rec.warning(key, "PolicyMissing", "AccessPolicy read does not exist");
    await rec.warning(key, "PolicyMissing", "AccessPolicy write does not exist");
    await rec.normal(key, "PolicyMissing", "AccessPolicy read does not exist");
    await rec.normal(key, "Rotated", "rotated");
    expect(eventsIn(key.metadata!.namespace!)).toHaveLength(4);
  });

  it("starts a new Event once the aggregation window has passed", async () => {
    const rec = recorder({ aggregateWindowMs: 60_000 });
    const key = apiKey();
    await rec.normal(key, "Rotated", "rotated");
    await clock.advance(60_001);
    await rec.normal(key, "Rotated", "rotated");
    expect(eventsIn(key.metadata!.namespace!)).toHaveLength(2);
  });

  it("coalesces a burst of repeats into few writes while keeping the count exact", async () => {
    const rec = recorder();
    const key = apiKey();
    const before = client.writes.count({ resource: "events" });
    await Promise.all(Array.from({ length: 200 }, () => rec.warning(key, "PolicyMissing", "hot loop")));
    const evs = eventsIn(key.metadata!.namespace!);
    expect(evs).toHaveLength(1);
    expect(evs[0]!.count).toBe(200);
    expect(client.writes.count({ resource: "events" }) - before).toBeLessThanOrEqual(2);
  });

  it("throttles writes per object past the burst, and carries the dropped count in the next allowed write", async () => {
    const rec = recorder({ burst: 2, refillMs: 60_000 });
    const key = apiKey();
    for (let i = 0; i < 5; i++) await rec.warning(key, "PolicyMissing", "again");
    let evs = eventsIn(key.metadata!.namespace!);
    expect(evs[0]!.count).toBe(2);
    expect(rec.dropped).toBe(3);
    await clock.advance(60_000);
    await rec.warning(key, "PolicyMissing", "again");
    evs = eventsIn(key.metadata!.namespace!);
    expect(evs[0]!.count).toBe(6);
  });

  it("creates a fresh Event when the one it would update has expired", async () => {
    const rec = recorder();
    const key = apiKey();
    await rec.normal(key, "Rotated", "rotated");
    const ns = key.metadata!.namespace!;
    api.remove("v1/events", ns, eventsIn(ns)[0]!.metadata!.name!);
    await rec.normal(key, "Rotated", "rotated");
    const evs = eventsIn(ns);
    expect(evs).toHaveLength(1);
    expect(evs[0]!.count).toBe(2);
  });

  it("puts Events about cluster-scoped objects in the default namespace", async () => {
    const rec = recorder();
    await rec.normal({ apiVersion: "keyward.dev/v1alpha1", kind: "ClusterRotationPolicy", metadata: { name: `default-${++n}`, uid: `c-${n}` } }, "Rotated", "x");
    expect(eventsIn("default").some((e) => e.involvedObject.name === `default-${n}`)).toBe(true);
  });

  it("truncates long messages to 1024 characters", async () => {
    const rec = recorder();
    const key = apiKey();
    await rec.normal(key, "Rotated", "x".repeat(5000));
    expect(eventsIn(key.metadata!.namespace!)[0]!.message).toHaveLength(1024);
  });

  it("never rejects when the API refuses the Event", async () => {
    const remove = api.inject((r) => (r.path.endsWith("/events") ? { status: 403 } : undefined));
    try {
      const rec = recorder();
      await expect(rec.normal(apiKey(), "Rotated", "x")).resolves.toBeUndefined();
    } finally {
      remove();
    }
  });

  it("logs an Event refused because its namespace is being deleted at debug level, and any other refusal as a warning", async () => {
    const lines: string[] = [];
    const at = (level: string) => (_obj: object, msg?: string): void => {
      lines.push(`${level} ${msg ?? ""}`);
    };
    const logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
    const terminating = { kind: "Status", status: "Failure", reason: "Forbidden", code: 403, details: { causes: [{ reason: "NamespaceTerminating", message: "namespace is being terminated" }] } };
    let answer: { status: number; body?: unknown } = { status: 403, body: terminating };
    const remove = api.inject((r) => (r.path.endsWith("/events") ? answer : undefined));
    try {
      const rec = new EventRecorder<Reason>({ client, component: "keyward-controller", clock, logger });
      await rec.normal(apiKey(), "Rotated", "x");
      answer = { status: 403 };
      await rec.normal(apiKey(), "Rotated", "x");
    } finally {
      remove();
    }
    expect(lines).toEqual(["debug event not recorded: its namespace is being deleted", "warn could not record event"]);
  });

  it("waits for every pending write on flush", async () => {
    const rec = recorder();
    const key = apiKey();
    void rec.normal(key, "Rotated", "a");
    void rec.normal(key, "Rotated", "b");
    await rec.flush();
    expect(eventsIn(key.metadata!.namespace!)).toHaveLength(2);
  });
});
