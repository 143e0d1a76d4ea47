import { describe, expect, it } from "vitest";
import { createTokenServiceLogger } from "../../../src/issuer/index.ts";
import { LogCapture, MemoryEvents } from "../../issuer/support/fixture.ts";
import type { IssuedToken } from "../../../src/api/types.generated.ts";
import { auditRevocation, issuedRevocationsPendingSince, issuedTokenWatches } from "../../../src/controller/controllers/issuedtokens.ts";
import { VerifierViews } from "../../../src/controller/verifiers/views.ts";
import { ManualClock } from "../../../src/kube/clock.ts";
import { objectKey } from "../../../src/kube/types.ts";
import type { ConfigMapObject } from "../../../src/model/bundle/configmap.ts";
import type { LeaseObject } from "../../../src/model/verifier-report.ts";
import { record } from "../../model/support/issued-token.ts";
import { cacheOf } from "./support/caches.ts";

describe("auditRevocation", () => {
  it("logs and records an Event once, when a record becomes revoked, with no token", () => {
    const logs = new LogCapture();
    const log = createTokenServiceLogger({ destination: logs });
    const events = new MemoryEvents();
    const before = record("j1");
    const after = record("j1", { revoked: true });
    auditRevocation(null, before, log, events);
    auditRevocation(before, after, log, events);
    auditRevocation(after, after, log, events);
    expect(logs.entries().map((e) => e.audit)).toEqual(["token_revoked"]);
    expect(logs.entries()[0]).toMatchObject({ tenant: "acme", apiKey: "reporting", jti: "j1", kid: "kid-1", issuedBy: "ApiKey acme/workflow" });
    expect(events.events).toEqual([expect.objectContaining({ kind: "IssuedToken", reason: "TokenRevoked" })]);
  });
});

/** Record `jti` of tenant `namespace`, revoked at `revokedAt` (undefined: not yet seen revoked) unless `revoked` is false. */
function revoked(jti: string, opts: { namespace?: string; revoked?: boolean; status?: IssuedToken["status"]; exp?: string } = {}): IssuedToken {
  const r = record(jti, { revoked: opts.revoked ?? true, ...(opts.exp === undefined ? {} : { exp: opts.exp }) });
  return { ...r, metadata: { ...r.metadata, namespace: opts.namespace ?? "acme" }, ...(opts.status === undefined ? {} : { status: opts.status }) };
}

const ENFORCED = { revokedAt: "2026-11-29T12:00:00Z", revocationEnforced: { generation: 3, at: "2026-11-29T12:00:01Z", verifiers: 2 } };

describe("issuedTokenWatches", () => {
  const waiting = revoked("j1");
  const active = revoked("j2", { revoked: false });
  const enforced = revoked("j3", { status: ENFORCED });
  const elsewhere = revoked("j4", { namespace: "beta" });
  const deleting = { ...revoked("j5"), metadata: { ...revoked("j5").metadata, deletionTimestamp: "2026-11-29T12:00:00Z" } };

  async function watches(): Promise<ReturnType<typeof issuedTokenWatches>> {
    const clock = new ManualClock();
    const configMaps = await cacheOf<ConfigMapObject>([], clock);
    const bundleSegments = await cacheOf<ConfigMapObject>([], clock);
    const stores = { issuedTokens: await cacheOf([waiting, active, enforced, elsewhere, deleting], clock), configMaps, bundleSegments };
    return issuedTokenWatches(stores, new VerifierViews({ leases: await cacheOf<LeaseObject>([], clock), configMaps, bundleSegments, clock, ttlMs: 30_000 }));
  }

  it("wakes a record when it is revoked, and never for a record not revoked", async () => {
    const [own] = await watches();
    expect(own?.filter?.("update", waiting, active)).toBe(true);
    expect(own?.filter?.("add", active)).toBe(false);
  });

  it("wakes, for a tenant's bundle or a verifier report there, the records of that tenant whose revocation is not enforced yet", async () => {
    const [, bundles, reports] = await watches();
    const inAcme = { metadata: { name: "keyward-bundle", namespace: "acme" } };
    expect([...(bundles?.map?.(inAcme) ?? [])]).toEqual([objectKey(waiting)]);
    expect([...(reports?.map?.({ metadata: { name: "keyward-verifier.web-0", namespace: "acme" } }) ?? [])]).toEqual([objectKey(waiting)]);
    expect([...(bundles?.map?.({ metadata: { name: "keyward-bundle", namespace: "beta" } }) ?? [])]).toEqual([objectKey(elsewhere)]);
  });

  it("watches nothing without the token service's records", async () => {
    expect(issuedTokenWatches({ issuedTokens: undefined, configMaps: await cacheOf<ConfigMapObject>([]), bundleSegments: await cacheOf<ConfigMapObject>([]) })).toEqual([]);
  });
});

describe("issuedRevocationsPendingSince", () => {
  it("dates each revocation seen and not enforced yet, leaving out records not revoked, not yet seen, enforced, or past the verifiers' leeway", () => {
    const now = new Date("2026-11-29T12:30:00Z");
    const records = [
      revoked("j1", { status: { revokedAt: "2026-11-29T12:00:00Z" } }),
      revoked("j2", { revoked: false }),
      revoked("j3"),
      revoked("j4", { status: ENFORCED }),
      revoked("j5", { status: { revokedAt: "2026-11-29T12:10:00Z" }, exp: "2026-11-29T12:20:00Z" }),
    ];
    expect(issuedRevocationsPendingSince(records, now)).toEqual([Date.parse("2026-11-29T12:00:00Z")]);
  });
});
