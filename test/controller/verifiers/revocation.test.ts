import { beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyStatus } from "../../../src/api/types.generated.ts";
import type { KeyPlan } from "../../../src/controller/apikey/plan.ts";
import { measureRevocation, measureTokenRevocation, planIssuedTokenStatus, requestedRevocation, type EnforcementLookup } from "../../../src/controller/verifiers/revocation.ts";
import type { ConfigMapObject } from "../../../src/model/bundle/configmap.ts";
import { aggregateVerifiers } from "../../../src/model/verifier-sync.ts";
import type { VerifierReport } from "../../../src/model/verifier-report.ts";
import { buildBundle, generateSigningKey, publicJwkOf, serializeBundle, type PrivateJwk } from "../../../src/token/index.ts";
import type { IssuedToken } from "../../../src/api/types.generated.ts";
import { record } from "../../model/support/issued-token.ts";

const NOW = new Date(Date.UTC(2026, 11, 1, 12, 0, 10));
const CUTOFF = "2026-12-01T12:00:00Z";
let key: PrivateJwk;

beforeAll(async () => {
  key = await generateSigningKey();
});

function bundleMap(generation: number, revokedBefore: string | null): ConfigMapObject {
  const bundle = buildBundle({
    tenant: "acme", issuer: "https://keyward.test", generation, generatedAt: "2026-12-01T12:00:05Z",
    keys: [{ ...publicJwkOf(key), apiKey: "reporting", state: "active", notAfter: null }],
    apiKeys: { reporting: { uid: "u1", policies: [], suspended: false, revokedBefore, allowNonExpiring: false } },
    policies: {}, revoked: [],
  });
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle", namespace: "acme" }, data: { "bundle.json": serializeBundle(bundle) } };
}

function plan(revokedBefore: string | null): KeyPlan {
  return { keys: [{ jwk: key }], document: { revokedBefore } } as unknown as KeyPlan;
}

function view(generations: number[]) {
  const reports: VerifierReport[] = generations.map((generation, i) => ({ tenant: "acme", name: `l${i}`, pod: `p${i}`, version: "0.1.0", generation, enforcedSinceMs: null, renewedMs: NOW.getTime(), leaseDurationMs: null }));
  return aggregateVerifiers({ tenant: "acme", reports, current: { generation: 12, sinceMs: NOW.getTime() }, nowMs: NOW.getTime(), ttlMs: 30_000 });
}

const pending: ApiKeyStatus = { bundleGeneration: 12, revocation: { request: "revokeIssuedBefore", requestedAt: "2026-12-01T12:00:02Z" } };

describe("requestedRevocation", () => {
  it("names the revocation a plan carries out, revokeAll first, and none for a plan without one", () => {
    expect(requestedRevocation([{ type: "revokedBefore", value: CUTOFF }, { type: "drop", kid: "k", cause: "revokeAll" }], NOW)).toEqual({ request: "revokeAll", requestedAt: "2026-12-01T12:00:10Z" });
    expect(requestedRevocation([{ type: "drop", kid: "k", cause: "dropDeposed" }], NOW)?.request).toBe("dropDeposed");
    expect(requestedRevocation([{ type: "revokedBefore", value: CUTOFF }], NOW)?.request).toBe("revokeIssuedBefore");
    expect(requestedRevocation([{ type: "drop", kid: "k", cause: "graceOver" }], NOW)).toBeNull();
  });
});

describe("measureRevocation", () => {
  it("records enforcedAt, the generation and the live verifiers once every live verifier enforces the bundle that carries it", () => {
    expect(measureRevocation("reporting", pending, plan(CUTOFF), bundleMap(12, CUTOFF), view([12, 13]), NOW)).toEqual({
      revocation: { request: "revokeIssuedBefore", requestedAt: "2026-12-01T12:00:02Z", generation: 12, enforcedAt: "2026-12-01T12:00:10Z", verifiers: 2 },
      seconds: 8,
    });
  });

  it("waits while one live verifier enforces an older generation", () => {
    expect(measureRevocation("reporting", pending, plan(CUTOFF), bundleMap(12, CUTOFF), view([12, 11]), NOW)).toBeNull();
  });

  it("waits while the bundle does not carry the ApiKey's state after the request yet", () => {
    expect(measureRevocation("reporting", pending, plan(CUTOFF), bundleMap(12, null), view([12]), NOW)).toBeNull();
  });

  it("counts it enforced at the bundle write when no verifier reports", () => {
    expect(measureRevocation("reporting", pending, plan(CUTOFF), bundleMap(12, CUTOFF), null, NOW)?.revocation).toMatchObject({ enforcedAt: "2026-12-01T12:00:10Z", verifiers: 0 });
  });

  it("takes the older generation the status names only once the status part of the bundle in the cache is known", () => {
    const stale: ApiKeyStatus = { ...pending, bundleGeneration: 11 };
    // Generation 11 may be the one before the request: a verifier still on it must not count.
    expect(measureRevocation("reporting", stale, plan(CUTOFF), bundleMap(12, CUTOFF), view([11, 12]), NOW)).toBeNull();
    expect(measureRevocation("reporting", stale, plan(CUTOFF), bundleMap(12, CUTOFF), view([11, 12]), NOW, true)?.revocation.generation).toBe(11);
  });

  it("leaves a revocation enforced before as it is", () => {
    const done: ApiKeyStatus = { ...pending, revocation: { ...pending.revocation!, enforcedAt: "2026-12-01T12:00:03Z" } };
    expect(measureRevocation("reporting", done, plan(CUTOFF), bundleMap(12, CUTOFF), view([12]), NOW)).toBeNull();
  });
});

describe("measureTokenRevocation", () => {
  const revoked = { revokedAt: "2026-12-01T12:00:04Z" };

  it("records the generation, the time and the live verifiers once every live verifier enforces the generation listing its tokens", () => {
    expect(measureTokenRevocation(revoked, 12, view([12, 12]), NOW)).toEqual({ enforced: { generation: 12, at: "2026-12-01T12:00:10Z", verifiers: 2 }, seconds: 6 });
  });

  it("waits while a live verifier is behind, or no bundle lists its tokens yet", () => {
    expect(measureTokenRevocation(revoked, 12, view([12, 11]), NOW)).toBeNull();
    expect(measureTokenRevocation(revoked, null, null, NOW)).toBeNull();
  });

  it("records nothing for an AccessToken not revoked, or recorded before", () => {
    expect(measureTokenRevocation({}, 12, null, NOW)).toBeNull();
    expect(measureTokenRevocation({ ...revoked, revocationEnforced: { at: "2026-12-01T12:00:05Z", verifiers: 0 } }, 12, null, NOW)).toBeNull();
  });
});

describe("planIssuedTokenStatus", () => {
  /** A tenant whose bundle first listed jti "j1" in generation 12, with verifiers on these generations (null: reports are not read). */
  function lookup(verifiers: number[] | null, listed: Record<string, number> = { j1: 12 }): EnforcementLookup & { asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      revokedIn: (jtis) => { asked.push(`revokedIn ${jtis.join(",")}`); return jtis.every((j) => listed[j] !== undefined) ? Math.max(...jtis.map((j) => listed[j]!)) : null; },
      view: () => { asked.push("view"); return verifiers === null ? null : view(verifiers); },
    };
  }
  const revoked = (status?: IssuedToken["status"]): IssuedToken => ({ ...record("j1", { revoked: true }), ...(status === undefined ? {} : { status }) });

  it("records revokedAt the first time the record is seen revoked, and keeps it after", () => {
    expect(planIssuedTokenStatus(revoked(), lookup([11]), NOW).status.revokedAt).toBe("2026-12-01T12:00:10Z");
    expect(planIssuedTokenStatus(revoked({ revokedAt: "2026-12-01T12:00:04Z" }), lookup([11]), NOW).status.revokedAt).toBe("2026-12-01T12:00:04Z");
  });

  it("records revocationEnforced once every live verifier enforces the first generation listing its jti, with the seconds since revokedAt", () => {
    const plan = planIssuedTokenStatus(revoked({ revokedAt: "2026-12-01T12:00:04Z" }), lookup([12, 13]), NOW);
    expect(plan).toEqual({
      status: { revokedAt: "2026-12-01T12:00:04Z", revocationEnforced: { generation: 12, at: "2026-12-01T12:00:10Z", verifiers: 2 } },
      enforcedSeconds: 6,
      recheckAt: null,
    });
  });

  it("waits while a live verifier is behind, and looks again when the next live verifier could age out", () => {
    const plan = planIssuedTokenStatus(revoked({ revokedAt: "2026-12-01T12:00:04Z" }), lookup([12, 11]), NOW);
    expect(plan).toEqual({ status: { revokedAt: "2026-12-01T12:00:04Z", revocationEnforced: undefined }, enforcedSeconds: null, recheckAt: new Date(NOW.getTime() + 30_000) });
  });

  it("waits while no bundle lists its jti, whatever the verifiers enforce", () => {
    expect(planIssuedTokenStatus(revoked({ revokedAt: "2026-12-01T12:00:04Z" }), lookup([13], {}), NOW).status.revocationEnforced).toBeUndefined();
  });

  it("counts it enforced at the bundle write that lists it when no verifier reports", () => {
    const plan = planIssuedTokenStatus(revoked(), lookup(null), NOW);
    expect(plan.status).toEqual({ revokedAt: "2026-12-01T12:00:10Z", revocationEnforced: { generation: 12, at: "2026-12-01T12:00:10Z", verifiers: 0 } });
    expect(plan.enforcedSeconds).toBe(0);
  });

  it("keeps the status of a record not revoked, being deleted or enforced before, and asks nothing of the tenant", () => {
    const enforced = { revokedAt: "2026-12-01T12:00:04Z", revocationEnforced: { generation: 12, at: "2026-12-01T12:00:05Z", verifiers: 3 } };
    const deleting = { ...revoked(), metadata: { ...revoked().metadata, deletionTimestamp: "2026-12-01T12:00:09Z" } };
    for (const r of [record("j1"), deleting, revoked(enforced)]) {
      const l = lookup([12]);
      const plan = planIssuedTokenStatus(r, l, NOW);
      expect(plan).toEqual({ status: { revokedAt: r.status?.revokedAt, revocationEnforced: r.status?.revocationEnforced }, enforcedSeconds: null, recheckAt: null });
      expect(l.asked).toEqual([]);
    }
  });
});
