import { describe, expect, it } from "vitest";
import { enforcementLookup } from "../../../src/controller/controllers/enforcement.ts";
import { VerifierViews } from "../../../src/controller/verifiers/views.ts";
import { ManualClock } from "../../../src/kube/clock.ts";
import type { ConfigMapObject } from "../../../src/model/bundle/configmap.ts";
import type { LeaseObject } from "../../../src/model/verifier-report.ts";
import { buildBundle, parseBundle, segmentDigest, serializeBundle, serializeSegment } from "../../../src/token/index.ts";
import { MemorySource } from "../../kube/support/memory-source.ts";
import { cacheOf, cacheOver } from "./support/caches.ts";

/** The bundle ConfigMap of tenant acme at `generation`, listing `jtis` as revoked. */
function bundleMap(generation: number, jtis: string[]): ConfigMapObject {
  const bundle = buildBundle({
    tenant: "acme", issuer: "https://keyward.test", generation, generatedAt: "2026-12-01T12:00:00Z",
    keys: [], apiKeys: { reporting: { uid: "u1", policies: [], suspended: false, revokedBefore: null, allowNonExpiring: false } }, policies: {}, revoked: jtis.map((jti) => ({ jti, apiKey: "reporting", exp: null })),
  });
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle", namespace: "acme", resourceVersion: String(generation) }, data: { "bundle.json": serializeBundle(bundle) } };
}

describe("enforcementLookup", () => {
  it("without verifier reports: the bundle's generation once it lists every jti, and no verifiers", async () => {
    const lookup = enforcementLookup({ stores: { configMaps: await cacheOf([bundleMap(12, ["j1", "j2"])]), bundleSegments: await cacheOf<ConfigMapObject>([]) } }, "acme");
    expect(lookup.revokedIn(["j1", "j2"])).toBe(12);
    expect(lookup.revokedIn(["j1", "j3"])).toBeNull();
    expect(lookup.view()).toBeNull();
    expect(enforcementLookup({ stores: { configMaps: await cacheOf<ConfigMapObject>([]), bundleSegments: await cacheOf<ConfigMapObject>([]) } }, "acme").revokedIn(["j1"])).toBeNull();
  });

  it("counts a revocation in a revocation segment as listed only while the tenant's slot holds the bytes the bundle names", async () => {
    const text = serializeSegment("acme", [{ jti: "j9", apiKey: "reporting", exp: null }]);
    const head = bundleMap(14, ["j1"]);
    const bundle = parseBundle(head.data?.["bundle.json"] ?? "");
    const withSegment = buildBundle({ ...bundle, revokedSegments: [{ name: "keyward-bundle-revoked-1", sha256: segmentDigest(text), count: 1 }] });
    const cm: ConfigMapObject = { ...head, data: { "bundle.json": serializeBundle(withSegment) } };
    const slot = (t: string): ConfigMapObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle-revoked-1", namespace: "acme" }, data: { "revoked.json": t } });
    const lookup = async (slots: ConfigMapObject[]) => enforcementLookup({ stores: { configMaps: await cacheOf([cm]), bundleSegments: await cacheOf(slots) } }, "acme");
    expect((await lookup([slot(text)])).revokedIn(["j1", "j9"])).toBe(14);
    expect((await lookup([])).revokedIn(["j9"])).toBeNull();
    expect((await lookup([slot(serializeSegment("acme", []))])).revokedIn(["j9"])).toBeNull();
  });

  it("with verifier reports: the first generation seen listing every jti, and the tenant's verifiers", async () => {
    const clock = new ManualClock(Date.parse("2026-12-01T12:00:10Z"));
    const bundles = new MemorySource<ConfigMapObject>();
    bundles.add(bundleMap(12, ["j1"]));
    const configMaps = await cacheOver(bundles, clock);
    const bundleSegments = await cacheOf<ConfigMapObject>([], clock);
    const verifiers = new VerifierViews({ leases: await cacheOf<LeaseObject>([], clock), configMaps, bundleSegments, clock, ttlMs: 30_000 });
    const lookup = enforcementLookup({ stores: { configMaps, bundleSegments }, verifiers }, "acme");
    expect(lookup.revokedIn(["j1"])).toBe(12);
    expect(lookup.revokedIn(["j2"])).toBeNull();
    const next = bundles.update(bundleMap(13, ["j1", "j2"]));
    await configMaps.waitFor("acme/keyward-bundle", next.metadata.resourceVersion ?? null);
    expect(lookup.revokedIn(["j1", "j2"])).toBe(13);
    expect(lookup.revokedIn(["j1"])).toBe(12);
    expect(lookup.view()).toMatchObject({ tenant: "acme", current: 13, live: 0 });
  });

  it("with verifier reports: a revocation in a segment is listed since the first generation naming that segment", async () => {
    const clock = new ManualClock(Date.parse("2026-12-01T12:00:10Z"));
    const text = serializeSegment("acme", [{ jti: "j9", apiKey: "reporting", exp: null }]);
    const headAt = (generation: number, jtis: string[]): ConfigMapObject => {
      const b = parseBundle(bundleMap(generation, jtis).data?.["bundle.json"] ?? "");
      const withSegment = buildBundle({ ...b, revokedSegments: [{ name: "keyward-bundle-revoked-1", sha256: segmentDigest(text), count: 1 }] });
      return { ...bundleMap(generation, jtis), data: { "bundle.json": serializeBundle(withSegment) } };
    };
    const bundles = new MemorySource<ConfigMapObject>();
    bundles.add(headAt(14, []));
    const configMaps = await cacheOver(bundles, clock);
    const bundleSegments = await cacheOf<ConfigMapObject>([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle-revoked-1", namespace: "acme" }, data: { "revoked.json": text } }], clock);
    const verifiers = new VerifierViews({ leases: await cacheOf<LeaseObject>([], clock), configMaps, bundleSegments, clock, ttlMs: 30_000 });
    const lookup = enforcementLookup({ stores: { configMaps, bundleSegments }, verifiers }, "acme");
    expect(lookup.revokedIn(["j9"])).toBe(14);
    const next = bundles.update(headAt(15, ["j10"]));
    await configMaps.waitFor("acme/keyward-bundle", next.metadata.resourceVersion ?? null);
    expect(lookup.revokedIn(["j9", "j10"])).toBe(15);
    expect(lookup.revokedIn(["j9"])).toBe(14);
    expect(lookup.revokedIn(["j11"])).toBeNull();
  });
});
