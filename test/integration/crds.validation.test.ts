// Every x-kubernetes-validations rule of the CRDs, and at least one schema bound
// per kind, checked on a real API server: each invalid write is refused with the
// message a user of kubectl would read, and a valid one is accepted.
import { describe, expect, it } from "vitest";
import { Kube, readCrdFiles, useNamespace, validationRules } from "./harness/index.ts";
import type { KubeObject, ValidationRule } from "./harness/index.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "crd-validation");
const API = "keyward.dev/v1alpha1";
const crds = readCrdFiles();

let counter = 0;
const uniqueName = (base: string): string => `${base}-${(counter++).toString(36)}-${Date.now().toString(36)}`;

const BASE_SPEC: Record<string, Record<string, unknown>> = {
  ApiKey: {},
  AccessToken: { apiKeyName: "reporting" },
  AccessPolicy: { rules: [{ methods: ["GET"], paths: ["/api/v0/**"] }] },
  RotationPolicy: { schedule: { every: "720h" } },
  ClusterRotationPolicy: { schedule: { every: "720h" } },
  IssuedToken: {
    apiKeyName: "reporting",
    jti: "c2VjcmV0LWZyZWUtanRp",
    kid: "a2lkLW9mLXRoZS1rZXk",
    issuedAt: "2026-11-29T12:00:00Z",
    expiresAt: "2026-11-30T12:00:00Z",
    issuedBy: "issuer",
  },
};

function object(kind: string, spec: Record<string, unknown>, name = uniqueName(kind.toLowerCase())): KubeObject {
  const cluster = crds.find((c) => c.kind === kind)?.scope === "Cluster";
  return { apiVersion: API, kind, metadata: cluster ? { name } : { name, namespace: ns.name }, spec };
}

/** A write that must fail; returns the server's message. Cluster-scoped leftovers are deleted. */
async function refusedCreate(kind: string, spec: Record<string, unknown>, name?: string): Promise<string> {
  const obj = object(kind, spec, name);
  const error = await kube.rejection(() => kube.create(obj));
  expect(error.status).toBe(422);
  expect(error.reason).toBe("Invalid");
  return error.serverMessage;
}

async function refusedUpdate(kind: string, before: Record<string, unknown>, patch: Record<string, unknown>): Promise<string> {
  const created = await kube.create(object(kind, before));
  try {
    const error = await kube.rejection(() => kube.mergePatch(created, { spec: patch }));
    expect(error.status).toBe(422);
    return error.serverMessage;
  } finally {
    if (crds.find((c) => c.kind === kind)?.scope === "Cluster") await kube.delete(created);
  }
}

async function accepted(kind: string, spec: Record<string, unknown>): Promise<KubeObject> {
  const created = await kube.create(object(kind, spec));
  if (crds.find((c) => c.kind === kind)?.scope === "Cluster") await kube.delete(created);
  return created;
}

/**
 * One rule case: which rule it targets (kind, schema path and a fragment of the
 * rule's text), and the test that proves the server enforces it.
 */
interface RuleCase {
  kind: string;
  path: string;
  rule: string;
  title: string;
  run: () => Promise<void>;
}

const rotationKinds = ["RotationPolicy", "ClusterRotationPolicy"] as const;

const ruleCases: RuleCase[] = [
  // --- ApiKey -------------------------------------------------------------
  {
    kind: "ApiKey",
    path: "",
    rule: "self.metadata.name.size() <= 63",
    title: "refuses an ApiKey whose name is longer than 63 characters",
    async run() {
      const message = await refusedCreate("ApiKey", {}, "k".repeat(64));
      expect(message).toContain("metadata.name: an ApiKey name must be at most 63 characters");
      const longest = await kube.create(object("ApiKey", {}, "k".repeat(63)));
      expect(longest.metadata.name).toHaveLength(63);
    },
  },
  {
    kind: "ApiKey",
    path: ".spec",
    rule: "has(oldSelf.revokeIssuedBefore) || has(self.revokeIssuedBefore)",
    title: "refuses removing spec.revokeIssuedBefore once set",
    async run() {
      const message = await refusedUpdate("ApiKey", { revokeIssuedBefore: "2026-11-29T12:00:00Z" }, { revokeIssuedBefore: null });
      expect(message).toContain("spec.revokeIssuedBefore cannot be removed: revocation is irreversible");
    },
  },
  {
    kind: "ApiKey",
    path: ".spec.revokeIssuedBefore",
    rule: "self >= oldSelf",
    title: "refuses moving spec.revokeIssuedBefore earlier but lets it move later",
    async run() {
      const message = await refusedUpdate("ApiKey", { revokeIssuedBefore: "2026-11-29T12:00:00Z" }, { revokeIssuedBefore: "2026-11-28T12:00:00Z" });
      expect(message).toContain("spec.revokeIssuedBefore cannot move earlier: revocation is irreversible");
      const created = await kube.create(object("ApiKey", { revokeIssuedBefore: "2026-11-29T12:00:00Z" }));
      const later = await kube.mergePatch(created, { spec: { revokeIssuedBefore: "2026-11-30T12:00:00Z" } });
      expect((later.spec as { revokeIssuedBefore: string }).revokeIssuedBefore).toBe("2026-11-30T12:00:00Z");
    },
  },
  // --- AccessToken ----------------------------------------------------------
  {
    kind: "AccessToken",
    path: ".spec",
    rule: "!(has(self.lifetime) && has(self.neverExpires)",
    title: "refuses an AccessToken with both a lifetime and neverExpires",
    async run() {
      const message = await refusedCreate("AccessToken", { apiKeyName: "reporting", lifetime: "24h", neverExpires: true });
      expect(message).toContain("spec.lifetime and spec.neverExpires exclude each other");
    },
  },
  {
    kind: "AccessToken",
    path: ".spec",
    rule: "!(has(self.renewBefore) && has(self.neverExpires)",
    title: "refuses an AccessToken that never expires but names a renewBefore",
    async run() {
      const message = await refusedCreate("AccessToken", { apiKeyName: "reporting", renewBefore: "1h", neverExpires: true });
      expect(message).toContain("spec.renewBefore has no meaning for a token that never expires");
    },
  },
  {
    kind: "AccessToken",
    path: ".spec",
    rule: "duration(self.renewBefore) < duration(self.lifetime)",
    title: "refuses a renewBefore that is not shorter than the lifetime, naming both values",
    async run() {
      const message = await refusedCreate("AccessToken", { apiKeyName: "reporting", lifetime: "1h", renewBefore: "90m" });
      expect(message).toContain("spec.renewBefore (90m) must be shorter than spec.lifetime (1h)");
      await accepted("AccessToken", { apiKeyName: "reporting", lifetime: "1h", renewBefore: "59m" });
    },
  },
  {
    kind: "AccessToken",
    path: ".spec.apiKeyName",
    rule: "self == oldSelf",
    title: "refuses changing the ApiKey of an AccessToken",
    async run() {
      const message = await refusedUpdate("AccessToken", { apiKeyName: "reporting" }, { apiKeyName: "billing" });
      expect(message).toContain("spec.apiKeyName cannot be changed");
    },
  },
  {
    kind: "AccessToken",
    path: ".spec.lifetime",
    rule: "duration(self) >= duration('1m')",
    title: "refuses a lifetime shorter than one minute",
    async run() {
      const message = await refusedCreate("AccessToken", { apiKeyName: "reporting", lifetime: "59s" });
      expect(message).toContain("spec.lifetime (59s) must be at least 1m");
      await accepted("AccessToken", { apiKeyName: "reporting", lifetime: "1m" });
    },
  },
  {
    kind: "AccessToken",
    path: ".spec.renewBefore",
    rule: "duration(self) > duration('0s')",
    title: "refuses a renewBefore of zero",
    async run() {
      const message = await refusedCreate("AccessToken", { apiKeyName: "reporting", renewBefore: "0s" });
      expect(message).toContain("spec.renewBefore (0s) must be longer than 0s");
    },
  },
  {
    kind: "AccessToken",
    path: ".spec.revoked",
    rule: "!oldSelf || self",
    title: "refuses un-revoking an AccessToken",
    async run() {
      const message = await refusedUpdate("AccessToken", { apiKeyName: "reporting", revoked: true }, { revoked: false });
      expect(message).toContain("spec.revoked cannot be set back to false: revocation is irreversible");
    },
  },
  // --- IssuedToken ----------------------------------------------------------
  ...([
    ["apiKeyName", "billing", "spec.apiKeyName cannot be changed"],
    ["jti", "b3RoZXItanRp", "spec.jti cannot be changed"],
    ["kid", "b3RoZXIta2lk", "spec.kid cannot be changed"],
    ["issuedAt", "2026-11-29T13:00:00Z", "spec.issuedAt cannot be changed"],
    ["expiresAt", "2026-12-30T12:00:00Z", "spec.expiresAt cannot be changed"],
    ["issuedBy", "someone-else", "spec.issuedBy cannot be changed"],
  ] as const).map(([field, value, message]): RuleCase => ({
    kind: "IssuedToken",
    path: `.spec.${field}`,
    rule: "self == oldSelf",
    title: `refuses changing the ${field} of an IssuedToken record`,
    async run() {
      expect(await refusedUpdate("IssuedToken", BASE_SPEC.IssuedToken!, { [field]: value })).toContain(message);
    },
  })),
  {
    kind: "IssuedToken",
    path: ".spec.revoked",
    rule: "!oldSelf || self",
    title: "refuses un-revoking an IssuedToken record",
    async run() {
      const message = await refusedUpdate("IssuedToken", { ...BASE_SPEC.IssuedToken, revoked: true }, { revoked: false });
      expect(message).toContain("spec.revoked cannot be set back to false: revocation is irreversible");
    },
  },
  // --- AccessPolicy ---------------------------------------------------------
  {
    kind: "AccessPolicy",
    path: ".spec.rules[].methods",
    rule: "self.exists(m, m == '*')",
    title: 'refuses "*" listed with other methods',
    async run() {
      const message = await refusedCreate("AccessPolicy", { rules: [{ methods: ["*", "GET"], paths: ["/api/**"] }] });
      expect(message).toContain('methods: "*" already matches every method');
      await accepted("AccessPolicy", { rules: [{ methods: ["*"], paths: ["/api/**"] }] });
    },
  },
  ...(
    [
      ["self.startsWith('/')", "a relative path", "api/v0/profiles", 'path api/v0/profiles must start with "/"'],
      ["!self.contains('//')", "an empty segment", "/api//profiles", 'path /api//profiles contains an empty segment ("//")'],
      ["!self.endsWith('/')", "a trailing slash", "/api/profiles/", 'path /api/profiles/ ends with "/": remove the trailing slash'],
      ["!self.contains('?')", "a query", "/api/profiles?id=1", 'path /api/profiles?id=1 contains "?" or "#"'],
      ["[.][.]?", 'a ".." segment', "/api/../secrets", 'path /api/../secrets contains a "." or ".." segment'],
      ["[\\\\s\\\\\\\\]", "a backslash", "/api\\profiles", "path /api\\profiles contains whitespace or a backslash"],
      ["(/[*][*])?$", 'a "*" inside a segment', "/api/v*/profiles", 'path /api/v*/profiles: "*" may only be a whole segment'],
    ] as const
  ).map(
    ([rule, what, path, expected]): RuleCase => ({
      kind: "AccessPolicy",
      path: ".spec.rules[].paths[]",
      rule,
      title: `refuses a path pattern with ${what}`,
      async run() {
        const message = await refusedCreate("AccessPolicy", { rules: [{ methods: ["GET"], paths: [path] }] });
        expect(message).toContain(expected);
      },
    }),
  ),
  // --- RotationPolicy and ClusterRotationPolicy -----------------------------
  ...rotationKinds.flatMap((kind): RuleCase[] => [
    {
      kind,
      path: ".spec",
      rule: "duration(self.defaultTokenLifetime) <= duration(self.maxTokenLifetime)",
      title: `refuses a ${kind} whose default token lifetime exceeds the maximum`,
      async run() {
        const message = await refusedCreate(kind, { schedule: { every: "720h" }, defaultTokenLifetime: "48h", maxTokenLifetime: "24h" });
        expect(message).toContain("spec.defaultTokenLifetime (48h) must not exceed spec.maxTokenLifetime (24h)");
        await accepted(kind, { schedule: { every: "720h" }, defaultTokenLifetime: "24h", maxTokenLifetime: "24h" });
      },
    },
    {
      kind,
      path: ".spec",
      rule: "duration(self.prePublish) < duration(self.schedule.every)",
      title: `refuses a ${kind} whose prePublish is not shorter than the rotation interval`,
      async run() {
        const message = await refusedCreate(kind, { schedule: { every: "1h" }, prePublish: "1h" });
        expect(message).toContain("spec.prePublish (1h) must be shorter than spec.schedule.every (1h)");
      },
    },
    {
      kind,
      path: ".spec.schedule",
      rule: "has(self.every) != has(self.cron)",
      title: `refuses a ${kind} schedule with both or neither of every and cron`,
      async run() {
        const both = await refusedCreate(kind, { schedule: { every: "720h", cron: "0 3 1 * *" } });
        expect(both).toContain("spec.schedule: set exactly one of every");
        const neither = await refusedCreate(kind, { schedule: {} });
        expect(neither).toContain("spec.schedule: set exactly one of every");
        await accepted(kind, { schedule: { cron: "0 3 1 * *", timeZone: "Europe/Berlin" } });
      },
    },
    {
      kind,
      path: ".spec.schedule.every",
      rule: "duration(self) >= duration('1h')",
      title: `refuses a ${kind} that rotates more often than hourly`,
      async run() {
        const message = await refusedCreate(kind, { schedule: { every: "59m" } });
        expect(message).toContain("spec.schedule.every (59m) must be at least 1h");
      },
    },
    {
      kind,
      path: ".spec.schedule.cron",
      rule: "{4}$",
      title: `refuses a ${kind} cron expression without five fields`,
      async run() {
        const message = await refusedCreate(kind, { schedule: { cron: "0 3 1 * * *" } });
        expect(message).toContain("spec.schedule.cron (0 3 1 * * *) must have 5 fields");
      },
    },
    {
      kind,
      path: ".spec.schedule.cron",
      rule: "^[0-5]?[0-9] ",
      title: `refuses a ${kind} cron expression that could fire more than hourly`,
      async run() {
        const message = await refusedCreate(kind, { schedule: { cron: "*/5 * * * *" } });
        expect(message).toContain("spec.schedule.cron (*/5 * * * *): the minute field must be one number from 0 to 59");
      },
    },
    {
      kind,
      path: ".spec.defaultTokenLifetime",
      rule: "duration(self) >= duration('1m')",
      title: `refuses a ${kind} default token lifetime under one minute`,
      async run() {
        const message = await refusedCreate(kind, { schedule: { every: "720h" }, defaultTokenLifetime: "30s" });
        expect(message).toContain("spec.defaultTokenLifetime (30s) must be at least 1m");
      },
    },
    {
      kind,
      path: ".spec.maxTokenLifetime",
      rule: "duration(self) >= duration('1m')",
      title: `refuses a ${kind} maximum token lifetime under one minute`,
      async run() {
        const message = await refusedCreate(kind, { schedule: { every: "720h" }, maxTokenLifetime: "30s" });
        expect(message).toContain("spec.maxTokenLifetime (30s) must be at least 1m");
      },
    },
  ]),
];

/** The rules a case targets: the one whose text equals `c.rule`, else those containing it. */
function targetsOf(c: RuleCase, rules: ValidationRule[]): ValidationRule[] {
  const here = rules.filter((r) => r.kind === c.kind && r.path === c.path);
  const exact = here.filter((r) => r.rule === c.rule);
  return exact.length > 0 ? exact : here.filter((r) => r.rule.includes(c.rule));
}

describe("the CEL validation rules of the CRDs", () => {
  const rules = crds.flatMap(validationRules);

  it("each have a test here, and each test here targets exactly one rule", () => {
    const untested = rules.filter((r) => !ruleCases.some((c) => targetsOf(c, rules).includes(r))).map((r) => `${r.kind} ${r.path || "(root)"}: ${r.rule}`);
    expect(untested).toEqual([]);
    const ambiguous = ruleCases.filter((c) => targetsOf(c, rules).length !== 1).map((c) => `${c.kind} ${c.path}: ${c.rule}`);
    expect(ambiguous).toEqual([]);
  });

  for (const c of ruleCases) {
    it(c.title, c.run);
  }
});

describe("the schema bounds of the CRDs", () => {
  it("refuses an ApiKey with more than 32 policies, an unknown policy kind or an over-long request value", async () => {
    const tooMany = await refusedCreate("ApiKey", { policies: Array.from({ length: 33 }, (_, i) => `p${i}`) });
    expect(tooMany).toContain("spec.policies: Too many: 33: must have at most 32 items");
    const kind = await refusedCreate("ApiKey", { rotationPolicyRef: { kind: "Policy", name: "x" } });
    expect(kind).toContain('spec.rotationPolicyRef.kind: Unsupported value: "Policy": supported values: "RotationPolicy", "ClusterRotationPolicy"');
    const long = await refusedCreate("ApiKey", { rotate: "r".repeat(64) });
    expect(long).toContain("spec.rotate: Too long: may not be more than 63 bytes");
    const date = await refusedCreate("ApiKey", { revokeIssuedBefore: "yesterday" });
    expect(date).toContain("spec.revokeIssuedBefore in body must be of type date-time");
  });

  it("refuses an AccessToken without an ApiKey, with an invalid ApiKey name or a lifetime that is no duration", async () => {
    const missing = await refusedCreate("AccessToken", {});
    expect(missing).toContain("spec.apiKeyName: Required value");
    const name = await refusedCreate("AccessToken", { apiKeyName: "Reporting_Key" });
    expect(name).toMatch(/spec\.apiKeyName in body should match/);
    const lifetime = await refusedCreate("AccessToken", { apiKeyName: "reporting", lifetime: "1d" });
    expect(lifetime).toMatch(/spec\.lifetime in body should match/);
  });

  it("refuses an AccessPolicy without rules, with more than 64 rules, a lower-case method or an over-long path", async () => {
    const none = await refusedCreate("AccessPolicy", { rules: [] });
    expect(none).toContain("spec.rules: Invalid value: 0: spec.rules in body should have at least 1 items");
    const rule = { methods: ["GET"], paths: ["/x"] };
    const tooMany = await refusedCreate("AccessPolicy", { rules: Array.from({ length: 65 }, () => rule) });
    expect(tooMany).toContain("spec.rules: Too many: 65: must have at most 64 items");
    const method = await refusedCreate("AccessPolicy", { rules: [{ methods: ["get"], paths: ["/x"] }] });
    expect(method).toContain('spec.rules[0].methods[0]: Unsupported value: "get"');
    const long = await refusedCreate("AccessPolicy", { rules: [{ methods: ["GET"], paths: [`/${"a".repeat(256)}`] }] });
    expect(long).toContain("spec.rules[0].paths[0]: Too long: may not be more than 256 bytes");
  });

  for (const kind of rotationKinds) {
    it(`refuses a ${kind} with an unknown algorithm, a grace that is no duration or a missing schedule`, async () => {
      const algorithm = await refusedCreate(kind, { schedule: { every: "720h" }, algorithm: "HS256" });
      expect(algorithm).toContain('spec.algorithm: Unsupported value: "HS256": supported values: "EdDSA", "ES256", "RS256"');
      const grace = await refusedCreate(kind, { schedule: { every: "720h" }, grace: "30d" });
      expect(grace).toMatch(/spec\.grace in body should match/);
      const schedule = await refusedCreate(kind, {});
      expect(schedule).toContain("spec.schedule: Required value");
    });
  }

  it("fills in the documented defaults of a minimal object of each kind", async () => {
    const key = await accepted("ApiKey", BASE_SPEC.ApiKey!);
    expect(key.spec).toEqual({ rotationPolicyRef: { kind: "ClusterRotationPolicy", name: "default" }, suspended: false });
    const token = await accepted("AccessToken", BASE_SPEC.AccessToken!);
    expect(token.spec).toEqual({ apiKeyName: "reporting", neverExpires: false, revoked: false });
    const policy = await accepted("AccessPolicy", BASE_SPEC.AccessPolicy!);
    expect(policy.spec).toEqual({ rules: [{ effect: "Allow", methods: ["GET"], paths: ["/api/v0/**"] }] });
    for (const kind of rotationKinds) {
      const rotation = await accepted(kind, BASE_SPEC[kind]!);
      expect(rotation.spec).toMatchObject({ algorithm: "EdDSA", prePublish: "5m", grace: "720h", schedule: { every: "720h" } });
    }
  });
});
