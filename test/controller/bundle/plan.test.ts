import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { apiKeyBundleReport } from "../../../src/controller/bundle/conditions.ts";
import { bundleConfigMap } from "../../../src/model/bundle/configmap.ts";
import { planBundle, type BundleApiKeyInput, type BundlePlan, type PlanBundleInput } from "../../../src/controller/bundle/plan.ts";
import { sameBundleContent } from "../../../src/token/bundle/same-content.ts";
import { serializeBundle } from "../../../src/token/bundle/serialize.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import { publicJwkOf } from "../../../src/token/keys/public.ts";
import type { BundleKey, KeyState, PrivateJwk } from "../../../src/token/types.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
const H = 3_600_000;
const after = (ms: number): Date => new Date(NOW.getTime() + ms);
const iso = (d: Date): string => d.toISOString().replace(".000Z", "Z");
const sec = (d: Date): number => d.getTime() / 1000;

let a1: PrivateJwk;
let a2: PrivateJwk;
let a3: PrivateJwk;
let b1: PrivateJwk;
beforeAll(async () => {
  [a1, a2, a3, b1] = await Promise.all([generateSigningKey(), generateSigningKey("ES256"), generateSigningKey(), generateSigningKey()]);
});

function key(jwk: PrivateJwk, apiKey: string, state: KeyState, notAfter: string | null = null): BundleKey {
  return { ...publicJwkOf(jwk), apiKey, state, notAfter };
}

function reporting(over: Partial<BundleApiKeyInput> = {}): BundleApiKeyInput {
  return {
    name: "reporting",
    uid: "uid-reporting",
    deleting: false,
    suspended: false,
    policies: ["read"],
    revokedBefore: null,
    allowNonExpiring: false,
    keys: [key(a3, "reporting", "prepared"), key(a1, "reporting", "active"), key(a2, "reporting", "deposed", iso(after(240 * H)))],
    ...over,
  };
}

function ingest(over: Partial<BundleApiKeyInput> = {}): BundleApiKeyInput {
  return {
    name: "ingest",
    uid: "uid-ingest",
    deleting: false,
    suspended: false,
    policies: ["write"],
    revokedBefore: null,
    allowNonExpiring: true,
    keys: [key(b1, "ingest", "active")],
    ...over,
  };
}

const readPolicy = { name: "read", spec: { rules: [{ methods: ["GET" as const, "HEAD" as const], paths: ["/api/v0/**"] }] } };
const writePolicy = { name: "write", spec: { rules: [{ effect: "Allow" as const, methods: ["POST" as const], paths: ["/api/v0/streams/*/records"] }] } };
const unusedPolicy = { name: "unused", spec: { rules: [{ methods: ["*" as const], paths: ["/**"] }] } };

function input(over: Partial<PlanBundleInput> = {}): PlanBundleInput {
  return {
    tenant: "acme",
    issuer: "https://keyward.example",
    now: NOW,
    apiKeys: [reporting(), ingest()],
    accessPolicies: [readPolicy, writePolicy, unusedPolicy],
    revocations: [],
    current: null,
    // The controller wrote what the ConfigMap holds: its record holds the same.
    record: over.current?.["bundle.json"] ?? null,
    trust: null,
    ...over,
  };
}

function ok(plan: BundlePlan): Extract<BundlePlan, { ok: true }> {
  if (!plan.ok) throw new Error(plan.message);
  return plan;
}

/** Plans, then plans again as if the ConfigMap held the first plan's data. */
function written(first: BundlePlan): Record<string, string> {
  return { ...ok(first).data };
}

describe("planBundle builds", () => {
  it("the tenant's keys, ApiKeys, attached policies and JWK Set", () => {
    const plan = ok(planBundle(input()));
    expect(plan.bundle).toMatchObject({ apiVersion: "keyward.dev/bundle/v1", tenant: "acme", issuer: "https://keyward.example", generatedAt: iso(NOW) });
    expect(plan.bundle.keys.map((k) => [k.apiKey, k.kid, k.state])).toEqual(
      [
        ["ingest", b1.kid, "active"],
        ["reporting", a1.kid, "active"],
        ["reporting", a2.kid, "deposed"],
        ["reporting", a3.kid, "prepared"],
      ].sort((x, y) => (x[0]! + x[1]! < y[0]! + y[1]! ? -1 : 1)),
    );
    expect(plan.bundle.apiKeys).toEqual({
      ingest: { uid: "uid-ingest", policies: ["write"], suspended: false, revokedBefore: null, allowNonExpiring: true },
      reporting: { uid: "uid-reporting", policies: ["read"], suspended: false, revokedBefore: null, allowNonExpiring: false },
    });
    expect(Object.keys(plan.bundle.policies)).toEqual(["read", "write"]);
    expect(plan.bundle.policies.read?.rules).toEqual([{ effect: "Allow", methods: ["GET", "HEAD"], paths: ["/api/v0/**"] }]);
    expect(plan.jwks.keys.map((k) => k.kid).sort()).toEqual([a1.kid, a2.kid, a3.kid, b1.kid].sort());
    expect(JSON.parse(plan.data["jwks.json"])).toEqual(plan.jwks);
    expect(plan.data["jwks.json"]).not.toMatch(/"(d|p|q|dp|dq|qi|apiKey|state)":/);
    expect(plan.data["bundle.json"]).toBe(serializeBundle(plan.bundle));
    expect(plan.changed).toBe(true);
    expect(plan.size).toBe(Buffer.byteLength(plan.data["bundle.json"]) + Buffer.byteLength(plan.data["jwks.json"]));
  });

  it("a first bundle whose generation is above any a verifier may hold", () => {
    const plan = ok(planBundle(input()));
    expect(plan.currentState).toBe("missing");
    expect(plan.bundle.generation).toBe(NOW.getTime());
  });

  it("into a ConfigMap named keyward-bundle", () => {
    const plan = ok(planBundle(input()));
    expect(bundleConfigMap("acme", plan.data, plan.bundle.generation)).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "keyward-bundle",
        namespace: "acme",
        labels: { "app.kubernetes.io/managed-by": "keyward" },
        annotations: { "keyward.dev/bundle-generation": String(plan.bundle.generation) },
      },
      data: plan.data,
    });
  });

  it("without ApiKeys being deleted, their keys and their revocations", () => {
    const first = planBundle(input({ revocations: [{ jti: "j-ingest", apiKey: "ingest", exp: sec(after(H)) }] }));
    const plan = ok(planBundle(input({ apiKeys: [reporting(), ingest({ deleting: true })], current: written(first), now: after(1000) })));
    expect(Object.keys(plan.bundle.apiKeys)).toEqual(["reporting"]);
    expect(plan.bundle.keys.every((k) => k.apiKey === "reporting")).toBe(true);
    expect(plan.bundle.revoked).toEqual([]);
    expect(plan.bundle.policies).not.toHaveProperty("write");
  });

  it("without a deposed key whose notAfter has passed, and wakes when the next one passes", () => {
    const plan = ok(planBundle(input()));
    expect(plan.nextWakeAt).toEqual(after(240 * H));
    const later = ok(planBundle(input({ now: after(240 * H) })));
    expect(later.bundle.keys.map((k) => k.kid)).not.toContain(a2.kid);
    expect(later.nextWakeAt).toBeNull();
  });

  it("with the suspension, cut-off and non-expiring permission of each ApiKey", () => {
    const plan = ok(planBundle(input({ apiKeys: [reporting({ suspended: true, revokedBefore: "2026-02-01T00:00:00Z" }), ingest()] })));
    expect(plan.bundle.apiKeys.reporting).toMatchObject({ suspended: true, revokedBefore: "2026-02-01T00:00:00Z", allowNonExpiring: false });
  });

  it("never moving an ApiKey's revocation cut-off earlier, unless the ApiKey was re-created", () => {
    const first = planBundle(input({ apiKeys: [reporting({ revokedBefore: "2026-02-01T00:00:00Z" }), ingest()] }));
    const unread = ok(planBundle(input({ apiKeys: [reporting({ revokedBefore: null, keys: null }), ingest()], current: written(first) })));
    expect(unread.bundle.apiKeys.reporting?.revokedBefore).toBe("2026-02-01T00:00:00Z");
    const earlier = ok(planBundle(input({ apiKeys: [reporting({ revokedBefore: "2026-01-01T00:00:00Z" }), ingest()], current: written(first) })));
    expect(earlier.bundle.apiKeys.reporting?.revokedBefore).toBe("2026-02-01T00:00:00Z");
    const later = ok(planBundle(input({ apiKeys: [reporting({ revokedBefore: "2026-02-15T00:00:00Z" }), ingest()], current: written(first) })));
    expect(later.bundle.apiKeys.reporting?.revokedBefore).toBe("2026-02-15T00:00:00Z");
    const recreated = ok(planBundle(input({ apiKeys: [reporting({ uid: "uid-new", revokedBefore: null }), ingest()], current: written(first) })));
    expect(recreated.bundle.apiKeys.reporting?.revokedBefore).toBeNull();
  });

  it("keeping an ApiKey's published keys while its Secret cannot be read", () => {
    const first = planBundle(input());
    const plan = ok(planBundle(input({ apiKeys: [reporting({ keys: null, allowNonExpiring: null }), ingest({ allowNonExpiring: null })], current: written(first) })));
    expect(plan.bundle.keys.filter((k) => k.apiKey === "reporting").map((k) => k.kid).sort()).toEqual([a1.kid, a2.kid, a3.kid].sort());
    expect(plan.bundle.apiKeys.ingest?.allowNonExpiring).toBe(true);
    expect(plan.changed).toBe(false);
  });

  it("dropping the keys of an ApiKey whose Secret is gone", () => {
    const first = planBundle(input());
    const plan = ok(planBundle(input({ apiKeys: [reporting({ keys: [] }), ingest()], current: written(first) })));
    expect(plan.bundle.keys.map((k) => k.apiKey)).toEqual(["ingest"]);
  });
});

describe("planBundle and AccessPolicies", () => {
  it("lists only existing policies for an ApiKey naming a missing one, and reports it on the ApiKey", () => {
    const plan = ok(planBundle(input({ apiKeys: [reporting({ policies: ["read", "gone"] }), ingest()] })));
    expect(plan.bundle.apiKeys.reporting?.policies).toEqual(["read"]);
    expect(plan.policyProblems.reporting).toEqual({ missing: ["gone"], invalid: {} });
    const report = apiKeyBundleReport(plan, "acme", "reporting");
    expect(report.conditions).toContainEqual({
      type: "AccessPoliciesResolved",
      status: "False",
      reason: "AccessPolicyNotFound",
      message:
        "ApiKey acme/reporting: spec.policies names AccessPolicies that do not exist in namespace acme: gone. " +
        "They grant nothing until fixed: create or fix them, or remove them from spec.policies",
    });
    expect(report.events.map((e) => [e.type, e.reason])).toEqual([["Warning", "AccessPolicyNotFound"]]);
    expect(apiKeyBundleReport(plan, "acme", "ingest").conditions[0]).toMatchObject({ status: "True", reason: "AccessPoliciesFound" });
  });

  it("leaves out a policy the verifier would refuse, without failing the tenant's bundle", () => {
    const bad = { name: "bad", spec: { rules: [{ methods: ["GET" as const], paths: ["/a/b*"] }] } };
    const plan = ok(planBundle(input({ apiKeys: [reporting({ policies: ["read", "bad"] }), ingest()], accessPolicies: [readPolicy, writePolicy, bad] })));
    expect(plan.bundle.apiKeys.reporting?.policies).toEqual(["read"]);
    expect(plan.bundle.policies).not.toHaveProperty("bad");
    expect(Object.keys(plan.policyProblems.reporting?.invalid ?? {})).toEqual(["bad"]);
    expect(apiKeyBundleReport(plan, "acme", "reporting").conditions[0]?.message).toContain("AccessPolicy acme/bad cannot be published");
  });
});

describe("planBundle and revocations", () => {
  it("lists the revoked tokens of AccessTokens", () => {
    const plan = ok(planBundle(input({ revocations: [{ jti: "j1", apiKey: "reporting", exp: sec(after(H)) }] })));
    expect(plan.bundle.revoked).toEqual([{ jti: "j1", apiKey: "reporting", exp: sec(after(H)) }]);
  });

  it("keeps the revocations of deleted AccessTokens from the ConfigMap until they expire", () => {
    const first = planBundle(input({ revocations: [{ jti: "j1", apiKey: "reporting", exp: sec(after(H)) }] }));
    const kept = ok(planBundle(input({ current: written(first), now: after(H) })));
    expect(kept.bundle.revoked.map((r) => r.jti)).toEqual(["j1"]);
    expect(kept.changed).toBe(false);
    // Pruned once exp plus the verifiers' largest leeway (300 s) has passed.
    const pruned = ok(planBundle(input({ current: written(first), now: new Date(after(H).getTime() + 300_000) })));
    expect(pruned.bundle.revoked).toEqual([]);
    expect(pruned.changed).toBe(true);
  });

  it("keeps a revoked token without exp while its ApiKey has keys", () => {
    const first = planBundle(input({ revocations: [{ jti: "forever", apiKey: "ingest", exp: null }] }));
    expect(ok(planBundle(input({ current: written(first), now: after(10_000 * H) }))).bundle.revoked).toHaveLength(1);
    const gone = ok(planBundle(input({ apiKeys: [reporting(), ingest({ keys: [] })], current: written(first), now: after(10_000 * H) })));
    expect(gone.bundle.revoked).toEqual([]);
  });

  it("lists a token once however many sources name it", () => {
    const entry = { jti: "j1", apiKey: "reporting", exp: sec(after(H)) };
    const first = planBundle(input({ revocations: [entry, entry] }));
    expect(ok(planBundle(input({ revocations: [entry], current: written(first) }))).bundle.revoked).toEqual([entry]);
  });
});

describe("planBundle generations", () => {
  it("writes nothing on a resync that finds the same content", () => {
    const first = ok(planBundle(input()));
    const again = ok(planBundle(input({ current: written(first), now: after(H) })));
    expect(again.changed).toBe(false);
    expect(again.bundle).toEqual(first.bundle);
    expect(again.data).toEqual(first.data);
  });

  it("does not care about the order of its inputs", () => {
    const first = ok(planBundle(input()));
    const shuffled = ok(
      planBundle(
        input({
          apiKeys: [ingest(), reporting({ keys: [...(reporting().keys ?? [])].reverse() })],
          accessPolicies: [unusedPolicy, writePolicy, readPolicy],
          current: written(first),
        }),
      ),
    );
    expect(shuffled.changed).toBe(false);
  });

  it("grows by one when the content changes", () => {
    const first = ok(planBundle(input()));
    const next = ok(planBundle(input({ apiKeys: [reporting({ suspended: true }), ingest()], current: written(first), now: after(H) })));
    expect(next.changed).toBe(true);
    expect(next.bundle.generation).toBe(first.bundle.generation + 1);
    expect(next.bundle.generatedAt).toBe(iso(after(H)));
  });

  it("rewrites a ConfigMap whose jwks.json was edited, from the record and under the same generation", () => {
    const first = ok(planBundle(input()));
    const plan = ok(planBundle(input({ current: { ...written(first), "jwks.json": '{"keys":[]}' }, record: first.data["bundle.json"] })));
    expect(plan.changed).toBe(false);
    expect(plan.inPlace).toBe(false);
    expect(plan.data).toEqual(first.data);
  });

  it("replaces an unreadable bundle with a warning, above the generation it may have had", () => {
    const plan = ok(planBundle(input({ current: { "bundle.json": '{"apiVersion":"keyward.dev/bundle/v1"', "jwks.json": "{}" } })));
    expect(plan.currentState).toBe("corrupt");
    expect(plan.bundle.generation).toBe(NOW.getTime());
    expect(plan.events.map((e) => [e.type, e.reason])).toEqual([["Warning", "BundleReplaced"]]);
    expect(plan.events[0]?.message).toContain("ConfigMap acme/keyward-bundle held no readable bundle (ERR_BUNDLE_JSON at $)");
  });

  it("grows only when the content changes, over any sequence of changes and resyncs", () => {
    const change = fc.oneof(
      fc.constant("resync" as const),
      fc.record({ suspended: fc.boolean() }),
      fc.record({ revoke: fc.constantFrom("j1", "j2", "j3") }),
      fc.record({ policies: fc.subarray(["read", "write", "missing"]) }),
      fc.record({ hours: fc.integer({ min: 0, max: 300 }) }),
    );
    fc.assert(
      fc.property(fc.array(change, { maxLength: 20 }), (changes) => {
        let now = NOW.getTime();
        let suspended = false;
        let policies = ["read"];
        const revocations: { jti: string; apiKey: string; exp: number }[] = [];
        let plan = ok(planBundle(input()));
        for (const c of changes) {
          if (c !== "resync") {
            if ("suspended" in c) suspended = c.suspended;
            if ("revoke" in c) revocations.push({ jti: c.revoke, apiKey: "reporting", exp: Math.floor(now / 1000) + 7200 });
            if ("policies" in c) policies = c.policies;
            if ("hours" in c) now += c.hours * H;
          }
          const next = ok(
            planBundle(input({ apiKeys: [reporting({ suspended, policies }), ingest()], revocations, current: written(plan), now: new Date(now) })),
          );
          const same = sameBundleContent(plan.bundle, next.bundle);
          expect(next.changed).toBe(!same);
          expect(next.bundle.generation).toBe(plan.bundle.generation + (same ? 0 : 1));
          plan = next;
        }
      }),
    );
  });
});

describe("planBundle size", () => {
  it("refuses a bundle over the ConfigMap limit with a typed result and reports it on every ApiKey", () => {
    const first = ok(planBundle(input()));
    const grown = reporting({ revokedBefore: "2026-02-01T00:00:00Z" });
    const plan = planBundle(input({ current: written(first), apiKeys: [grown, ingest()], sizeLimit: first.size }));
    expect(plan.ok).toBe(false);
    if (plan.ok) return;
    expect(plan.reason).toBe("BundleTooLarge");
    expect(plan.size).toBeGreaterThan(plan.limit);
    expect(plan.message).toContain(`over the limit of ${first.size} bytes for ConfigMap acme/keyward-bundle`);
    expect(plan.message).toContain(`verifiers keep generation ${first.bundle.generation}`);
    expect(plan.events.map((e) => [e.type, e.reason])).toEqual([["Warning", "BundleTooLarge"]]);
    const report = apiKeyBundleReport(plan, "acme", "reporting");
    expect(report.conditions).toContainEqual({ type: "Published", status: "False", reason: "BundleTooLarge", message: plan.message });
    expect(report.bundleGeneration).toBe(first.bundle.generation);
  });

  it("fits the default limit of 1 MiB minus a margin", () => {
    const plan = ok(planBundle(input()));
    expect(plan.limit).toBe(1024 * 1024 - 64 * 1024);
    expect(apiKeyBundleReport(plan, "acme", "reporting").conditions).toContainEqual({
      type: "Published",
      status: "True",
      reason: "Published",
      message: `in generation ${plan.bundle.generation} of ConfigMap acme/keyward-bundle`,
    });
  });
});

describe("planBundle and the controller's record", () => {
  const revokedEntry = { jti: "deleted-token", apiKey: "reporting", exp: sec(after(48 * H)) };
  const withDeleted = (): Extract<BundlePlan, { ok: true }> => ok(planBundle(input({ revocations: [revokedEntry] })));

  it("keeps the revocation of a deleted AccessToken from the record when the ConfigMap was edited to drop it", () => {
    const first = withDeleted();
    const edited = { ...first.data, "bundle.json": serializeBundle({ ...first.bundle, generation: first.bundle.generation + 5, revoked: [] }) };
    const plan = ok(planBundle(input({ current: edited, record: first.data["bundle.json"], now: after(H) })));
    expect(plan.bundle.revoked).toEqual([revokedEntry]);
    expect(plan.previousFrom).toBe("record");
    expect(plan.inPlace).toBe(false);
    expect(plan.bundle.generation).toBe(first.bundle.generation);
    expect(plan.events.map((e) => e.reason)).toEqual(["BundleReplaced"]);
  });

  it("takes the next generation from the record, not from a ConfigMap whose generation was raised to 2^53-1", () => {
    const first = ok(planBundle(input()));
    const raised = { ...first.data, "bundle.json": serializeBundle({ ...first.bundle, generation: Number.MAX_SAFE_INTEGER }) };
    const next = ok(planBundle(input({ apiKeys: [reporting({ suspended: true }), ingest()], current: raised, record: first.data["bundle.json"], now: after(H) })));
    expect(next.bundle.generation).toBe(first.bundle.generation + 1);
  });

  it("never carries a key added to the ConfigMap by hand: keys come from the Secrets, or the record while a Secret cannot be read", () => {
    const first = ok(planBundle(input()));
    const intruder = { ...key(a3, "ingest", "active") };
    const edited = { ...first.data, "bundle.json": serializeBundle({ ...first.bundle, keys: [...first.bundle.keys, intruder] }) };
    const plan = ok(planBundle(input({ apiKeys: [reporting(), ingest({ keys: null })], current: edited, record: first.data["bundle.json"] })));
    expect(plan.bundle.keys.filter((k) => k.apiKey === "ingest").map((k) => k.kid)).toEqual([b1.kid]);
  });

  it("without a record, starts one from an unsigned ConfigMap taking only what refuses more: revocations and cut-offs, never keys or allowNonExpiring", () => {
    const first = ok(planBundle(input({ revocations: [revokedEntry] })));
    const legacy = { ...first.data, "bundle.json": serializeBundle({ ...first.bundle, generation: Number.MAX_SAFE_INTEGER }) };
    const plan = ok(planBundle(input({ apiKeys: [reporting({ keys: null, allowNonExpiring: null }), ingest()], current: legacy, record: null, now: after(H) })));
    expect(plan.previousFrom).toBe("unsigned");
    expect(plan.bundle.revoked).toEqual([]);
    // The revocation is dropped here only because reporting has no key left to verify it with.
    const keyed = ok(planBundle(input({ current: legacy, record: null, now: after(H) })));
    expect(keyed.bundle.revoked).toEqual([revokedEntry]);
    expect(keyed.bundle.generation).toBe(after(H).getTime());
    expect(plan.bundle.keys.filter((k) => k.apiKey === "reporting")).toEqual([]);
    expect(plan.bundle.apiKeys.reporting?.allowNonExpiring).toBe(false);
  });
});
