import { describe, expect, it } from "vitest";
import { aggregateVerifiers, allLiveEnforce } from "../../src/model/verifier-sync.ts";
import type { VerifierReport } from "../../src/model/verifier-report.ts";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const TTL = 30_000;

function report(pod: string, generation: number | null, renewedMs: number | null): VerifierReport {
  return { tenant: "acme", name: `keyward-verifier.${pod}`, pod, version: "0.1.0", generation, enforcedSinceMs: null, renewedMs, leaseDurationMs: null };
}

function aggregate(reports: VerifierReport[], nowMs: number, current: { generation: number; sinceMs: number } | null = { generation: 7, sinceMs: T0 }) {
  return aggregateVerifiers({ tenant: "acme", reports, current, nowMs, ttlMs: TTL });
}

describe("aggregateVerifiers", () => {
  it("counts a verifier on the current generation SYNCED and one on an older generation STALE, behind since the current one came out", () => {
    const v = aggregate([report("b", 6, T0 + 5000), report("a", 7, T0 + 5000)], T0 + 10_000);
    expect(v.rows.map((r) => [r.pod, r.sync, r.behindMs])).toEqual([["a", "SYNCED", null], ["b", "STALE", 10_000]]);
    expect([v.live, v.synced, v.stale, v.dead, v.oldestGeneration]).toEqual([2, 1, 1, 0, 6]);
  });

  it("ages out a verifier whose heartbeat is older than the TTL, and counts it neither live nor stale", () => {
    const v = aggregate([report("a", 7, T0), report("b", 6, T0)], T0 + TTL);
    expect(v.rows.map((r) => r.sync)).toEqual(["DEAD", "DEAD"]);
    expect([v.live, v.dead, v.oldestGeneration, v.nextExpiryMs]).toEqual([0, 2, null, null]);
  });

  it("keeps a verifier live until its TTL has passed and says when the first live one would age out", () => {
    const v = aggregate([report("a", 7, T0), report("b", 7, T0 + 2000)], T0 + TTL - 1);
    expect(v.live).toBe(2);
    expect(v.nextExpiryMs).toBe(T0 + TTL);
  });

  it("counts a live verifier without a bundle STALE, with no oldest generation", () => {
    const v = aggregate([report("a", null, T0), report("b", 7, T0)], T0 + 1000);
    expect(v.rows.map((r) => r.sync)).toEqual(["STALE", "SYNCED"]);
    expect(v.liveWithoutBundle).toBe(true);
    expect(v.oldestGeneration).toBeNull();
    expect(allLiveEnforce(v, 1)).toBe(false);
  });

  it("takes each report's own lease duration as its TTL when given none", () => {
    const reports = [{ ...report("a", 7, T0), leaseDurationMs: 3000 }, { ...report("b", 7, T0), leaseDurationMs: 60_000 }, report("c", 7, T0)];
    const v = aggregateVerifiers({ tenant: "acme", reports, current: { generation: 7, sinceMs: T0 }, nowMs: T0 + 5000, ttlMs: null });
    expect(v.rows.map((r) => r.sync)).toEqual(["DEAD", "SYNCED", "DEAD"]);
  });

  it("counts a report without a heartbeat dead", () => {
    expect(aggregate([report("a", 7, null)], T0).dead).toBe(1);
  });

  it("says every live verifier enforces a generation only when the oldest live one does, and vacuously when none is live", () => {
    const v = aggregate([report("a", 7, T0), report("b", 6, T0), report("c", 1, T0 - TTL)], T0 + 1000);
    expect(allLiveEnforce(v, 6)).toBe(true);
    expect(allLiveEnforce(v, 7)).toBe(false);
    expect(allLiveEnforce(aggregate([], T0), 7)).toBe(true);
  });
});
