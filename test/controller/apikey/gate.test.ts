import { describe, expect, it } from "vitest";
import { activationGate } from "../../../src/controller/apikey/gate.ts";
import { aggregateVerifiers } from "../../../src/model/verifier-sync.ts";
import type { VerifierReport } from "../../../src/model/verifier-report.ts";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const TTL = 30_000;

function view(generations: (number | null)[], nowMs = T0 + 1000) {
  const reports: VerifierReport[] = generations.map((generation, i) => ({
    tenant: "acme", name: `keyward-verifier.p${i}`, pod: `p${i}`, version: "0.1.0", generation, enforcedSinceMs: null, renewedMs: T0, leaseDurationMs: null,
  }));
  return aggregateVerifiers({ tenant: "acme", reports, current: { generation: 10, sinceMs: T0 }, nowMs, ttlMs: TTL });
}

describe("activationGate", () => {
  it("leaves activation to prePublish when reports are not read or no verifier is live", () => {
    expect(activationGate(null, 10)).toEqual({ kind: "prePublish" });
    expect(activationGate(view([10, 10], T0 + TTL), 10)).toEqual({ kind: "prePublish" });
  });

  it("opens when every live verifier enforces the generation that holds the key or a later one", () => {
    expect(activationGate(view([10, 11, 12]), 10)).toEqual({ kind: "held", live: 3, generation: 10 });
  });

  it("waits while one live verifier enforces an older generation, and rechecks when the first live one could age out", () => {
    expect(activationGate(view([10, 9, 10]), 10)).toEqual({ kind: "waiting", live: 3, behind: 1, generation: 10, recheckAt: new Date(T0 + TTL) });
  });

  it("waits while no bundle holds the key yet", () => {
    expect(activationGate(view([10]), null)).toMatchObject({ kind: "waiting", generation: null });
  });

  it("waits for a live verifier that has no bundle at all", () => {
    expect(activationGate(view([10, null]), 10)).toMatchObject({ kind: "waiting", behind: 1 });
  });
});
