import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubeClient } from "../../../src/kube/client.ts";
import { ManualClock } from "../../../src/kube/clock.ts";
import { readVerifierReport, type LeaseObject } from "../../../src/model/verifier-report.ts";
import { createLogger } from "../../../src/verifier/log.ts";
import { VerifierReporter, type ReportResult } from "../../../src/verifier/report/reporter.ts";
import { FakeApiServer } from "../../kube/support/fake-apiserver.ts";
import { LogCapture } from "../support/http.ts";

const LEASES = "coordination.k8s.io/v1/leases";
const MINUTE = 60_000;

let api: FakeApiServer;
let clock: ManualClock;
let generation: number | null;
let counts: Record<ReportResult, number>;
let logs: LogCapture;
let reporter: VerifierReporter;

/** Waits for the write in flight (real HTTP) to be answered and counted. */
async function written(total: number): Promise<void> {
  for (let i = 0; i < 500 && counts.ok + counts.error < total; i++) await new Promise((r) => setImmediate(r));
  expect(counts.ok + counts.error).toBe(total);
}

function lease(): LeaseObject | undefined {
  return api.object(LEASES, "acme", "keyward-verifier.web-0");
}

beforeEach(async () => {
  api = await FakeApiServer.start();
  clock = new ManualClock(Date.UTC(2026, 11, 1, 12));
  generation = null;
  counts = { ok: 0, error: 0 };
  logs = new LogCapture();
  reporter = new VerifierReporter({
    client: new KubeClient({ kubeConfig: api.kubeConfig() }),
    namespace: "acme",
    pod: "web-0",
    podUid: "0b9b1f2e-0000-4000-8000-000000000001",
    generation: () => generation,
    heartbeatMs: MINUTE,
    clock,
    logger: createLogger("info", logs),
    count: (r) => { counts[r]++; },
    random: () => 0.5,
  });
});

afterEach(async () => {
  await reporter.stop();
  await api.stop();
});

describe("VerifierReporter", () => {
  it("creates its Pod's Lease, owned by the Pod, before the first bundle, then reports the generation once it loads", async () => {
    reporter.start();
    await written(1);
    expect(lease()?.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Pod", name: "web-0", uid: "0b9b1f2e-0000-4000-8000-000000000001" }]);
    expect(readVerifierReport(lease()!)).toMatchObject({ tenant: "acme", pod: "web-0", generation: null });
    generation = 7;
    reporter.changed();
    await written(2);
    expect(readVerifierReport(lease()!)).toMatchObject({ generation: 7, enforcedSinceMs: clock.now(), renewedMs: clock.now() });
  });

  it("writes once per generation and once per interval without a change, never more", async () => {
    generation = 1;
    reporter.start();
    await written(1);
    reporter.changed();
    reporter.changed();
    await clock.advance(MINUTE - 1);
    expect(api.writes()).toHaveLength(1);
    await clock.advance(1);
    await written(2);
    expect(readVerifierReport(lease()!)?.renewedMs).toBe(clock.now());
    generation = 2;
    reporter.changed();
    await written(3);
    // The write of generation 2 was also the heartbeat: the next one is a whole interval later.
    await clock.advance(MINUTE - 1);
    expect(api.writes()).toHaveLength(3);
  });

  it("creates the Lease again when it was deleted", async () => {
    generation = 1;
    reporter.start();
    await written(1);
    api.remove(LEASES, "acme", "keyward-verifier.web-0");
    generation = 2;
    reporter.changed();
    await written(2);
    expect(readVerifierReport(lease()!)?.generation).toBe(2);
  });

  it("patches the Lease its Pod already has after a container restart", async () => {
    api.seed(LEASES, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "keyward-verifier.web-0", namespace: "acme" }, spec: {} });
    generation = 3;
    reporter.start();
    await written(1);
    expect(counts).toEqual({ ok: 1, error: 0 });
    expect(readVerifierReport(lease()!)?.generation).toBe(3);
  });

  it("keeps retrying with back-off when a write is refused, logging the streak once, then reports again", async () => {
    const heal = api.inject((req) => (req.method === "POST" || req.method === "PATCH" ? { status: 403, body: { kind: "Status", code: 403, reason: "Forbidden", message: "forbidden" } } : undefined));
    generation = 1;
    reporter.start();
    await written(1);
    await clock.advance(188); // 250 ms, jittered to 188
    await written(2);
    expect(counts.error).toBe(2);
    expect(logs.events("report_failed")).toHaveLength(1);
    expect(logs.events("report_failed")[0]).toMatchObject({ status: 403 });
    heal();
    await clock.advance(375);
    await written(3);
    expect(counts.ok).toBe(1);
    expect(logs.events("report_resumed")).toHaveLength(1);
  });

  it("writes nothing after stop", async () => {
    generation = 1;
    reporter.start();
    await written(1);
    await reporter.stop();
    generation = 2;
    reporter.changed();
    await clock.advance(10 * MINUTE);
    expect(api.writes()).toHaveLength(1);
  });
});
