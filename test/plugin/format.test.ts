import { describe, expect, it } from "vitest";
import type { ApiKey } from "../../src/api/index.ts";
import { bundleInfo, formatBytes, formatStatus, shortKid, table, type BundleInfo } from "../../src/plugin/index.ts";
import { formatAge, formatVerifiers, type VerifierListing } from "../../src/plugin/commands/verifiers.ts";
import { aggregateVerifiers } from "../../src/model/verifier-sync.ts";
import type { VerifierReport } from "../../src/model/verifier-report.ts";

const KID_A = "Ab3dEf9xQrStUvWxYz0123456789abcdefghijklmno";
const KID_B = "Zz91XyzqQrStUvWxYz0123456789abcdefghijklmno";
const KID_C = "Pp00PrepQrStUvWxYz0123456789abcdefghijklmno";

describe("table", () => {
  it("aligns columns three spaces apart, fills empty cells with <none> and trims trailing space", () => {
    expect(table(["NAME", "READY", "AGE"], [["a", "True", "1d"], ["longer-name", "", "5m"]])).toBe(
      ["NAME          READY    AGE", "a             True     1d", "longer-name   <none>   5m", ""].join("\n"),
    );
  });

  it("keeps every row on one line whatever a cell contains", () => {
    expect(table(["A", "B"], [["x\ny", "z\tw"]]).split("\n")).toHaveLength(3);
  });
});

describe("shortKid and formatBytes", () => {
  it("shortens kids to 8 characters and sizes to B, KiB and MiB", () => {
    expect(shortKid(KID_A)).toBe("Ab3dEf9x");
    expect(shortKid("short")).toBe("short");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(12_595)).toBe("12.3 KiB");
    expect(formatBytes(1024 * 1024)).toBe("1.0 MiB");
  });
});

describe("bundleInfo", () => {
  it("reads the generation from bundle.json and counts the bytes of every key and value", () => {
    const info = bundleInfo({ data: { "bundle.json": '{"generation":42}', "jwks.json": '{"keys":[]}' } });
    expect(info).toEqual({ state: "present", generation: 42, bytes: "bundle.json".length + 17 + "jwks.json".length + 11, generatedAtMs: null, segments: 0 });
  });

  it("counts the revocation segments the bundle names, and shows them next to its size", () => {
    const info = bundleInfo({ data: { "bundle.json": '{"generation":7,"revokedSegments":[{"name":"keyward-bundle-revoked-1"},{"name":"keyward-bundle-revoked-2"}]}' } });
    expect(info).toMatchObject({ generation: 7, segments: 2 });
    const k: ApiKey = { apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name: "a", namespace: "acme" }, spec: {} };
    expect(formatStatus([k], new Map([["acme", info]]), false)).toMatch(/\(0%\) \+2 revocation segments$/m);
  });

  it("reads when the bundle was generated, which a STALE verifier is behind since", () => {
    expect(bundleInfo({ data: { "bundle.json": '{"generation":42,"generatedAt":"2026-12-01T12:00:00Z"}' } })).toMatchObject({ generatedAtMs: Date.UTC(2026, 11, 1, 12) });
  });

  it("reports an unreadable bundle.json as having no generation", () => {
    expect(bundleInfo({ data: { "bundle.json": "{not json" } })).toMatchObject({ generation: null });
    expect(bundleInfo({ data: { "bundle.json": '{"generation":-1}' } })).toMatchObject({ generation: null });
    expect(bundleInfo({})).toEqual({ state: "present", generation: null, bytes: 0, generatedAtMs: null, segments: 0 });
  });
});

describe("formatStatus", () => {
  const key = (namespace: string, name: string, status: ApiKey["status"], suspended = false): ApiKey => ({
    apiVersion: "keyward.dev/v1alpha1",
    kind: "ApiKey",
    metadata: { name, namespace },
    spec: { suspended },
    ...(status === undefined ? {} : { status }),
  });
  const rotating = key("acme", "reporting", {
    activeKid: KID_A,
    nextRotationTime: "2026-12-29T12:00:00Z",
    conditions: [{ type: "Ready", status: "True", reason: "Ready", message: "", lastTransitionTime: "2026-11-29T12:00:00Z" }],
    keys: [
      { kid: KID_B, algorithm: "EdDSA", state: "deposed", createdAt: "2026-10-01T00:00:00Z", notAfter: "2026-12-01T00:00:00Z" },
      { kid: KID_A, algorithm: "EdDSA", state: "active", createdAt: "2026-11-01T00:00:00Z" },
      { kid: KID_C, algorithm: "EdDSA", state: "prepared", createdAt: "2026-11-29T12:00:00Z" },
    ],
  });
  const fresh = key("acme", "ingest", undefined, true);
  const other = key("beta", "billing", { activeKid: KID_B, keys: [{ kid: KID_B, algorithm: "ES256", state: "active", createdAt: "2026-11-01T00:00:00Z" }] });
  const bundles = new Map<string, BundleInfo>([
    ["acme", { state: "present", generation: 42, bytes: 12_595, generatedAtMs: null, segments: 0 }],
    ["beta", { state: "forbidden" }],
  ]);

  it("shows one line per ApiKey, sorted, with the keys in lifecycle order and the namespace's bundle", () => {
    const headers = ["APIKEY", "READY", "SUSPENDED", "KEYS", "ACTIVE KID", "NEXT ROTATION", "BUNDLE GEN", "BUNDLE SIZE"];
    expect(formatStatus([rotating, fresh], bundles, false)).toBe(
      table(headers, [
        ["ingest", "", "true", "", "", "", "42", "12.3 KiB (1%)"],
        ["reporting", "True", "false", "prepared:Pp00Prep,active:Ab3dEf9x,deposed:Zz91Xyzq", KID_A, "2026-12-29T12:00:00Z", "42", "12.3 KiB (1%)"],
      ]),
    );
  });

  it("adds a NAMESPACE column across namespaces and says when a bundle is missing or may not be read", () => {
    const out = formatStatus([other, rotating], new Map([["beta", { state: "forbidden" }]]), true).split("\n");
    expect(out[0]).toMatch(/^NAMESPACE {3}APIKEY {6}READY/);
    expect(out[1]).toMatch(/^acme {8}reporting .* <none> +<none>$/);
    expect(out[2]).toMatch(/^beta {8}billing .*active:Zz91Xyzq .* forbidden {4}forbidden$/);
  });
});

describe("formatVerifiers", () => {
  const T = Date.UTC(2026, 11, 1, 12, 0, 0);
  const report = (pod: string, generation: number | null, renewedMs: number): VerifierReport => ({
    tenant: "acme", name: `keyward-verifier.${pod}`, pod, version: "0.1.0", generation, enforcedSinceMs: null, renewedMs, leaseDurationMs: 30_000,
  });
  const listed = (reports: VerifierReport[]): VerifierListing => ({
    state: "listed",
    view: aggregateVerifiers({ tenant: "acme", reports, current: { generation: 42, sinceMs: T - 75_000 }, nowMs: T, ttlMs: null }),
  });

  it("shows one line per verifier, like proxy-status: the generation it enforces, SYNCED or STALE, how long behind, its heartbeat", () => {
    const out = formatVerifiers(new Map([["acme", listed([report("web-2", 41, T - 4000), report("web-1", 42, T - 2000), report("web-3", 42, T - 40_000)])]]), false, T);
    expect(out).toBe(
      table(["POD", "GENERATION", "SYNC", "BEHIND", "VERSION", "HEARTBEAT"], [
        ["web-1", "42", "SYNCED", "", "0.1.0", "2s ago"],
        ["web-2", "41", "STALE", "1m15s", "0.1.0", "4s ago"],
        ["web-3", "42", "DEAD", "", "0.1.0", "40s ago"],
      ]),
    );
  });

  it("prints nothing when no verifier reports, and says when Leases may not be listed", () => {
    expect(formatVerifiers(new Map([["acme", listed([])]]), false, T)).toBe("");
    expect(formatVerifiers(new Map([["beta", { state: "forbidden" }]]), true, T)).toMatch(/^NAMESPACE +POD.*\nbeta +forbidden/);
  });

  it("tells ages in seconds, minutes and hours", () => {
    expect([formatAge(999), formatAge(61_000), formatAge(120_000), formatAge(3_720_000)]).toEqual(["0s", "1m1s", "2m", "1h2m"]);
  });
});
