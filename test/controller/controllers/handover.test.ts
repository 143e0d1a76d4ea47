import { beforeAll, describe, expect, it } from "vitest";
import type { ApiKey } from "../../../src/api/index.ts";
import { bundlePartOf } from "../../../src/controller/controllers/bundle.ts";
import { BundleReports, statusHoldsPart, withBundlePart, type BundlePart } from "../../../src/controller/controllers/handover.ts";
import { BUNDLE_WAIT_MS, FirstStatusWait } from "../../../src/controller/controllers/handover.ts";
import { planBundle, type BundleApiKeyInput, type BundlePlan } from "../../../src/controller/bundle/plan.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import { publicJwkOf } from "../../../src/token/keys/public.ts";
import type { Bundle, PrivateJwk } from "../../../src/token/types.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
const LATER = new Date("2026-03-01T13:00:00Z");

const published = (generation: number): BundlePart => ({
  uid: "uid-a",
  bundleVersion: `rv-${generation}`,
  bundleGeneration: generation,
  conditions: [
    { type: "AccessPoliciesResolved", status: "True", reason: "AccessPoliciesFound", message: "every AccessPolicy in spec.policies exists" },
    { type: "Published", status: "True", reason: "Published", message: `in generation ${generation} of ConfigMap acme/keyward-bundle` },
  ],
  events: [],
});

const apiKey = (status?: ApiKey["status"]): ApiKey => ({
  apiVersion: "keyward.dev/v1alpha1",
  kind: "ApiKey",
  metadata: { name: "a", namespace: "acme", uid: "uid-a", generation: 1 },
  spec: { policies: ["read"] },
  ...(status === undefined ? {} : { status }),
});

describe("BundleReports", () => {
  it("hands a part only to the ApiKey of the uid it was worked out for", () => {
    const reports = new BundleReports();
    reports.replaceTenant("acme", new Map([["a", published(3)]]), []);
    expect(reports.get("acme", "a", "uid-a", "rv-3")?.bundleGeneration).toBe(3);
    expect(reports.get("acme", "a", "uid-of-a-new-a", "rv-3")).toBeUndefined();
    expect(reports.get("other", "a", "uid-a", "rv-3")).toBeUndefined();
  });

  it("hands a part out only while the bundle ConfigMap it describes is the one cached", () => {
    const reports = new BundleReports();
    reports.replaceTenant("acme", new Map([["a", published(3)]]), []);
    expect(reports.get("acme", "a", "uid-a", "rv-4")).toBeUndefined();
    expect(reports.get("acme", "a", "uid-a", undefined)).toBeUndefined();
    expect(reports.last("acme", "a", "uid-a")?.bundleGeneration).toBe(3);
  });

  it("tells its listeners the key of each changed ApiKey, and forgets ApiKeys left out", () => {
    const reports = new BundleReports();
    const woken: string[] = [];
    reports.onChange((key) => woken.push(key));
    reports.replaceTenant("acme", new Map([["a", published(3)], ["b", { ...published(3), uid: "uid-b" }]]), ["a"]);
    expect(woken).toEqual(["acme/a"]);
    reports.replaceTenant("acme", new Map([["b", { ...published(4), uid: "uid-b" }]]), ["b"]);
    expect(woken).toEqual(["acme/a", "acme/b"]);
    expect(reports.last("acme", "a", "uid-a")).toBeUndefined();
    reports.dropTenant("acme");
    expect(reports.last("acme", "b", "uid-b")).toBeUndefined();
  });
});

describe("withBundlePart and statusHoldsPart", () => {
  it("adds the bundle's conditions and generation and keeps the rest of the status", () => {
    const own: NonNullable<ApiKey["status"]> = { keys: [], activeKid: "k1", conditions: [{ type: "Ready", status: "True" as const, reason: "KeysReady", message: "m", lastTransitionTime: "2026-03-01T11:00:00Z" }] };
    const status = withBundlePart(own, published(3), NOW);
    expect(status.activeKid).toBe("k1");
    expect(status.bundleGeneration).toBe(3);
    expect(status.conditions?.map((c) => [c.type, c.status])).toEqual([["Ready", "True"], ["AccessPoliciesResolved", "True"], ["Published", "True"]]);
    expect(status.conditions?.find((c) => c.type === "Published")?.lastTransitionTime).toBe("2026-03-01T12:00:00Z");
  });

  it("holds once written, later too (a transition time does not move while the status stays)", () => {
    const written = apiKey(withBundlePart({}, published(3), NOW));
    expect(statusHoldsPart(written, published(3), LATER)).toBe(true);
    expect(statusHoldsPart(written, published(4), LATER)).toBe(false);
    expect(statusHoldsPart(apiKey(), published(3), NOW)).toBe(false);
  });

  it("removes bundleGeneration when no generation carries the ApiKey", () => {
    const status = withBundlePart({ bundleGeneration: 2 }, { ...published(2), bundleGeneration: undefined }, NOW);
    expect("bundleGeneration" in status).toBe(false);
  });
});

describe("bundlePartOf", () => {
  let a1: PrivateJwk;
  let b1: PrivateJwk;
  beforeAll(async () => {
    [a1, b1] = await Promise.all([generateSigningKey(), generateSigningKey()]);
  });
  const input = (name: string, jwk: PrivateJwk, policies: string[] = ["read"]): BundleApiKeyInput => ({
    name,
    uid: `uid-${name}`,
    deleting: false,
    suspended: false,
    policies,
    revokedBefore: null,
    allowNonExpiring: false,
    keys: [{ ...publicJwkOf(jwk), apiKey: name, state: "active", notAfter: null }],
  });
  const read = { name: "read", spec: { rules: [{ methods: ["GET" as const], paths: ["/api/**"] }] } };
  const plan = (apiKeys: BundleApiKeyInput[], current: BundlePlan | null, now = NOW): BundlePlan =>
    planBundle({ tenant: "acme", issuer: "https://keyward.test", now, apiKeys, accessPolicies: [read], revocations: [], current: current?.ok === true ? current.data : null, record: current?.ok === true ? current.data["bundle.json"] : null, trust: null });
  const bundleOf = (p: BundlePlan): Bundle => {
    if (!p.ok) throw new Error("plan not ok");
    return p.bundle;
  };

  it("publishes a new ApiKey in the generation just planned", () => {
    const first = plan([input("a", a1)], null);
    const part = bundlePartOf(apiKey(), first, null, [], undefined, "rv");
    expect(part.bundleVersion).toBe("rv");
    expect(part.bundleGeneration).toBe(bundleOf(first).generation);
    expect(part.conditions.map((c) => [c.type, c.status, c.observedGeneration])).toEqual([["AccessPoliciesResolved", "True", 1], ["Published", "True", 1]]);
  });

  it("keeps the generation an ApiKey was published in while only other ApiKeys change, even before that part is written", () => {
    const first = plan([input("a", a1)], null);
    const firstPart = bundlePartOf(apiKey(), first, null, [], undefined, "rv");
    const second = plan([input("a", a1), input("b", b1)], first, LATER);
    expect(bundleOf(second).generation).toBeGreaterThan(bundleOf(first).generation);
    const part = bundlePartOf(apiKey(), second, bundleOf(first), [], firstPart, "rv");
    expect(part.bundleGeneration).toBe(bundleOf(first).generation);
    expect(part.conditions.find((c) => c.type === "Published")?.message).toContain(`generation ${bundleOf(first).generation}`);
  });

  it("reports a missing AccessPolicy, with the Warning to record", () => {
    const p = plan([input("a", a1, ["read", "gone"])], null);
    const part = bundlePartOf(apiKey(), p, null, [], undefined, "rv");
    expect(part.conditions.find((c) => c.type === "AccessPoliciesResolved")).toMatchObject({ status: "False", reason: "AccessPolicyNotFound" });
    expect(part.events.map((e) => [e.type, e.reason])).toEqual([["Warning", "AccessPolicyNotFound"]]);
  });
});

describe("FirstStatusWait", () => {
  it("lets a new ApiKey's first status wait at most BUNDLE_WAIT_MS from its first reconcile", () => {
    const wait = new FirstStatusWait();
    expect(wait.left("uid-1", 1_000)).toBe(BUNDLE_WAIT_MS);
    expect(wait.left("uid-1", 4_000)).toBe(BUNDLE_WAIT_MS - 3_000);
    expect(wait.left("uid-1", 1_000 + BUNDLE_WAIT_MS)).toBe(0);
    wait.end("uid-1");
    expect(wait.left("uid-1", 50_000)).toBe(BUNDLE_WAIT_MS);
  });

  it("forgets the waits of ApiKeys that went away while they waited", () => {
    const wait = new FirstStatusWait();
    wait.left("gone", 0);
    wait.left("new", 3 * BUNDLE_WAIT_MS);
    // "gone" started long ago: its wait was dropped, so it would start afresh.
    expect(wait.left("gone", 3 * BUNDLE_WAIT_MS)).toBe(BUNDLE_WAIT_MS);
  });
});
