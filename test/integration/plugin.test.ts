// kubectl keyward against a real API server (no controller): each command makes exactly the
// spec change it promises, owned by the field manager kubectl-keyward, and nothing else; `token`
// prints the token of the Secret; `status` renders a status written through the status
// subresource; refusals name the object and the fix and change nothing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { table } from "../../src/plugin/index.ts";
import { bearerKubeConfig, serviceAccountToken, writeKubeConfig } from "../config/support/identity.ts";
import { run, type Run } from "../plugin/support.ts";
import { eventually, Kube, useNamespace } from "./harness/index.ts";
import type { KubeObject } from "./harness/index.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "plugin");
const API = "keyward.dev/v1alpha1";
const NOW = Date.parse("2026-11-29T12:00:00.000Z");
const KID_A = "Ab3dEf9xQrStUvWxYz0123456789abcdefghijklmno";
const KID_B = "Zz91XyzqQrStUvWxYz0123456789abcdefghijklmno";
const JWT = "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJpbmdlc3QifQ.c2lnbmF0dXJlLW5vdC1jaGVja2Vk";

let scratch = "";

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "keyward-plugin-test-"));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** `kubectl keyward <argv> -n <ns> --kubeconfig <admin>` at the frozen time NOW. */
function plugin(argv: string[], opts: { kubeconfig?: string; now?: number } = {}): Promise<Run> {
  return run([...argv, "-n", ns.name, "--kubeconfig", opts.kubeconfig ?? kube.kubeconfigPath], { env: {}, now: opts.now ?? NOW });
}

const apiKeyRef = (name: string): { apiVersion: string; kind: string; namespace: string; name: string } => ({ apiVersion: API, kind: "ApiKey", namespace: ns.name, name });
const accessTokenRef = (name: string): { apiVersion: string; kind: string; namespace: string; name: string } => ({ apiVersion: API, kind: "AccessToken", namespace: ns.name, name });

async function createApiKey(name: string, spec: Record<string, unknown> = { policies: ["reporting-read"] }): Promise<KubeObject> {
  return kube.create({ apiVersion: API, kind: "ApiKey", metadata: { name, namespace: ns.name }, spec });
}

/** The object without what every write changes (resourceVersion, generation, managedFields). */
function comparable(obj: KubeObject): unknown {
  const copy = structuredClone(obj) as KubeObject & { metadata: Record<string, unknown> };
  delete copy.metadata.resourceVersion;
  delete copy.metadata.generation;
  delete copy.metadata.managedFields;
  return copy;
}

/** The spec fields the field manager kubectl-keyward owns on `obj`. */
function ownedByPlugin(obj: KubeObject): string[] {
  const entries = (obj.metadata as { managedFields?: { manager: string; fieldsV1?: { "f:spec"?: Record<string, unknown> } }[] }).managedFields ?? [];
  return entries.filter((e) => e.manager === "kubectl-keyward").flatMap((e) => Object.keys(e.fieldsV1?.["f:spec"] ?? {}).map((k) => k.replace(/^f:/, "spec.")));
}

/** Runs `argv` and checks that it changed the spec of `ref` by `expected` and nothing else. */
async function expectExactChange(ref: ReturnType<typeof apiKeyRef>, argv: string[], expected: Record<string, unknown>): Promise<Run> {
  const before = await kube.get(ref);
  const r = await plugin(argv);
  expect(r.code, r.stderr).toBe(0);
  const after = await kube.get(ref);
  const want = structuredClone(before) as KubeObject & { spec: Record<string, unknown> };
  want.spec = { ...want.spec, ...expected };
  expect(comparable(after)).toEqual(comparable(want));
  expect(after.metadata.generation).toBe((before.metadata.generation ?? 0) + 1);
  expect(ownedByPlugin(after)).toEqual(Object.keys(expected).map((k) => `spec.${k}`));
  return r;
}

describe("kubectl keyward rotate", () => {
  it("sets spec.rotate to the current time and changes nothing else", async () => {
    await createApiKey("rotate-once");
    const r = await expectExactChange(apiKeyRef("rotate-once"), ["rotate", "rotate-once"], { rotate: "2026-11-29T12:00:00.000Z" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`apikey.keyward.dev/rotate-once patched in namespace ${ns.name}: spec.rotate="2026-11-29T12:00:00.000Z"`);
  });

  it("makes a second request at the same instant a new value, and takes --value", async () => {
    await createApiKey("rotate-twice", { rotate: "2026-11-29T12:00:00.000Z" });
    await expectExactChange(apiKeyRef("rotate-twice"), ["rotate", "rotate-twice"], { rotate: "2026-11-29T12:00:00.000Z-1" });
    await expectExactChange(apiKeyRef("rotate-twice"), ["rotate", "rotate-twice", "--value", "CHG-1234"], { rotate: "CHG-1234" });
  });

  it("warns when a rotation is already pending, and still requests it", async () => {
    const key = await createApiKey("rotate-pending");
    await kube.mergePatch(key, {
      status: {
        activeKid: KID_A,
        keys: [
          { kid: KID_A, algorithm: "EdDSA", state: "active", createdAt: "2026-11-01T00:00:00Z" },
          { kid: KID_B, algorithm: "EdDSA", state: "prepared", createdAt: "2026-11-29T11:58:00Z", activatesAt: "2026-11-29T12:03:00Z" },
        ],
      },
    }, { subresource: "status" });
    const r = await plugin(["rotate", "rotate-pending"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'Warning: a rotation of apikey "rotate-pending" is already pending: key Zz91Xyzq is prepared and becomes active at 2026-11-29T12:03:00Z. Rotating again before tokens were redistributed may break them\n',
    );
    expect(((await kube.get(apiKeyRef("rotate-pending"))).spec as { rotate?: string }).rotate).toBe("2026-11-29T12:00:00.000Z");
  });

  it("changes nothing with --dry-run", async () => {
    await createApiKey("rotate-dry");
    const before = await kube.get(apiKeyRef("rotate-dry"));
    const r = await plugin(["rotate", "rotate-dry", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("(server dry run)");
    expect((await kube.get(apiKeyRef("rotate-dry"))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("names a missing ApiKey and exits 1", async () => {
    const r = await plugin(["rotate", "no-such-key"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: apikey "no-such-key" in namespace "${ns.name}" not found: check the name (kubectl get apikeys -n ${ns.name}) and the namespace (-n NAMESPACE)\n`,
    );
  });
});

describe("kubectl keyward revoke", () => {
  it("--deposed sets spec.dropDeposed and changes nothing else", async () => {
    await createApiKey("revoke-deposed");
    const r = await expectExactChange(apiKeyRef("revoke-deposed"), ["revoke", "revoke-deposed", "--deposed", "--value", "INC-1"], { dropDeposed: "INC-1" });
    expect(r.stderr).toBe('Warning: apikey "revoke-deposed" has no deposed key now: the request is recorded but there is nothing to drop\n');
  });

  it("--all sets spec.revokeAll and changes nothing else", async () => {
    await createApiKey("revoke-all");
    await expectExactChange(apiKeyRef("revoke-all"), ["revoke", "revoke-all", "--all"], { revokeAll: "2026-11-29T12:00:00.000Z" });
  });

  it("--before sets spec.revokeIssuedBefore, and moves it only later", async () => {
    await createApiKey("revoke-before");
    await expectExactChange(apiKeyRef("revoke-before"), ["revoke", "revoke-before", "--before", "2026-11-29T11:00:00+01:00"], { revokeIssuedBefore: "2026-11-29T10:00:00Z" });
    await expectExactChange(apiKeyRef("revoke-before"), ["revoke", "revoke-before", "--before", "now"], { revokeIssuedBefore: "2026-11-29T12:00:00Z" });

    const before = await kube.get(apiKeyRef("revoke-before"));
    const earlier = await plugin(["revoke", "revoke-before", "--before", "2026-11-29T09:00:00Z"]);
    expect(earlier.code).toBe(1);
    expect(earlier.stderr).toContain("it can only move later (revocation is irreversible)");
    const same = await plugin(["revoke", "revoke-before", "--before", "2026-11-29T12:00:00Z"]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain("unchanged");
    expect((await kube.get(apiKeyRef("revoke-before"))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});

describe("kubectl keyward revoke-token", () => {
  it("sets spec.revoked to true and changes nothing else; a second time it changes nothing", async () => {
    await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "to-revoke", namespace: ns.name }, spec: { apiKeyName: "reporting", lifetime: "24h" } });
    await expectExactChange(accessTokenRef("to-revoke"), ["revoke-token", "to-revoke"], { revoked: true });
    const before = await kube.get(accessTokenRef("to-revoke"));
    const again = await plugin(["revoke-token", "to-revoke"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`accesstoken.keyward.dev/to-revoke unchanged in namespace ${ns.name}: already revoked\n`);
    expect((await kube.get(accessTokenRef("to-revoke"))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});

describe("kubectl keyward token", () => {
  /** A token Secret as the controller writes it: controlled by `owner`. */
  async function tokenSecret(name: string, owner: KubeObject, type = "keyward.dev/access-token"): Promise<void> {
    await kube.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: ns.name, ownerReferences: [{ apiVersion: API, kind: "AccessToken", name: owner.metadata.name, uid: owner.metadata.uid!, controller: true }] },
      type,
      data: { token: Buffer.from(JWT).toString("base64") },
    });
  }

  it("prints the token of the Secret named in the AccessToken's status, and only the token", async () => {
    const at = await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "ingest", namespace: ns.name }, spec: { apiKeyName: "ingest", secretName: "ingest-spec" } });
    await tokenSecret("ingest-status", at);
    await kube.mergePatch(at, { status: { secretName: "ingest-status" } }, { subresource: "status" });
    const r = await plugin(["token", "ingest"]);
    expect(r).toEqual({ code: 0, stdout: `${JWT}\n`, stderr: "" });
  });

  it("falls back to spec.secretName, and refuses a Secret the controller did not write", async () => {
    const foreign = await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "foreign", namespace: ns.name }, spec: { apiKeyName: "x", secretName: "foreign-secret" } });
    await tokenSecret("foreign-secret", foreign, "Opaque");
    const r = await plugin(["token", "foreign"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain('secret "foreign-secret" of accesstoken "foreign" is of type Opaque, not keyward.dev/access-token');
    const other = await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "other", namespace: ns.name }, spec: { apiKeyName: "x", secretName: "ingest-status" } });
    const notOwned = await plugin(["token", other.metadata.name]);
    expect(notOwned.code).toBe(1);
    expect(notOwned.stdout).toBe("");
    expect(notOwned.stderr).toContain('secret "ingest-status" is not controlled by accesstoken "other"');
  });

  it("says when no token was issued yet, and refuses a revoked AccessToken", async () => {
    await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "pending", namespace: ns.name }, spec: { apiKeyName: "x" } });
    const pending = await plugin(["token", "pending"]);
    expect(pending.code).toBe(1);
    expect(pending.stderr).toContain('secret "pending" of accesstoken "pending" does not exist (yet)');
    const gone = await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "gone", namespace: ns.name }, spec: { apiKeyName: "x", revoked: true } });
    await tokenSecret("gone", gone);
    const revoked = await plugin(["token", "gone"]);
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toBe("");
    expect(revoked.stderr).toContain('accesstoken "gone" in namespace');
    expect(revoked.stderr).toContain("is revoked");
  });
});

describe("kubectl keyward status", () => {
  it("renders the keys, active kid and next rotation written through the status subresource, and the bundle", async () => {
    const key = await createApiKey("status-shown");
    await kube.mergePatch(key, {
      status: {
        activeKid: KID_A,
        nextRotationTime: "2026-12-29T12:00:00Z",
        keys: [
          { kid: KID_B, algorithm: "EdDSA", state: "deposed", createdAt: "2026-10-01T00:00:00Z", notAfter: "2026-12-01T00:00:00Z" },
          { kid: KID_A, algorithm: "EdDSA", state: "active", createdAt: "2026-11-01T00:00:00Z" },
        ],
        conditions: [{ type: "Ready", status: "True", reason: "KeysReady", message: "ok", lastTransitionTime: "2026-11-29T12:00:00Z" }],
      },
    }, { subresource: "status" });
    const data = { "bundle.json": JSON.stringify({ apiVersion: "keyward.dev/bundle/v1", generation: 7 }), "jwks.json": '{"keys":[]}' };
    await kube.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle", namespace: ns.name }, data });
    const bytes = Object.entries(data).reduce((n, [k, v]) => n + k.length + v.length, 0);

    const r = await plugin(["status"]);
    expect(r.code).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("status-shown "));
    const expected = table(
      ["APIKEY", "READY", "SUSPENDED", "KEYS", "ACTIVE KID", "NEXT ROTATION", "BUNDLE GEN", "BUNDLE SIZE"],
      [["status-shown", "True", "false", "active:Ab3dEf9x,deposed:Zz91Xyzq", KID_A, "2026-12-29T12:00:00Z", "7", `${bytes} B (0%)`]],
    ).split("\n")[1]!;
    expect(line?.split(/ {3,}/)).toEqual(expected.split(/ {3,}/));
  });

  it("lists every namespace with -A", async () => {
    await createApiKey("status-all");
    const r = await run(["status", "-A", "--kubeconfig", kube.kubeconfigPath], { env: {} });
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^NAMESPACE +APIKEY +READY/);
    expect(r.stdout).toMatch(new RegExp(`^${ns.name} +status-all `, "m"));
  });
});

describe("kubectl keyward without the permission it needs", () => {
  let readerKubeconfig = "";

  beforeAll(async () => {
    // A ServiceAccount that may read ApiKeys and AccessTokens, but neither change them nor read Secrets.
    await kube.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "reader", namespace: ns.name } });
    await kube.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "keyward-reader", namespace: ns.name },
      rules: [{ apiGroups: ["keyward.dev"], resources: ["apikeys", "accesstokens"], verbs: ["get", "list"] }],
    });
    await kube.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "keyward-reader", namespace: ns.name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "keyward-reader" },
      subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns.name }],
    });
    readerKubeconfig = writeKubeConfig(bearerKubeConfig(kube.kc, await serviceAccountToken(kube, ns.name, "reader")), scratch, "reader");
    await createApiKey("guarded");
    await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "guarded", namespace: ns.name }, spec: { apiKeyName: "guarded" } });
  });

  it("refuses to rotate, naming the permission and the roles that grant it, and changes nothing", async () => {
    const before = await kube.get(apiKeyRef("guarded"));
    const r = await eventually("the reader's Role to take effect", async () => {
      const attempt = await plugin(["rotate", "guarded"], { kubeconfig: readerKubeconfig });
      return attempt.stderr.includes("forbidden: you may not patch") ? attempt : undefined;
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: forbidden: you may not patch apikey "guarded" in namespace "[^"]+" \(.*cannot patch resource "apikeys".*\)\. Rotating and revoking an ApiKey .* it needs keyward-admin in the namespace \(the admin role has it, edit does not\)/);
    expect((await kube.get(apiKeyRef("guarded"))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("refuses to revoke an AccessToken, naming keyward-editor and keyward-admin, and changes nothing", async () => {
    const before = await kube.get(accessTokenRef("guarded"));
    const r = await plugin(["revoke-token", "guarded"], { kubeconfig: readerKubeconfig });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: forbidden: you may not patch accesstoken "guarded" .*it needs keyward-editor or keyward-admin in the namespace/);
    expect((await kube.get(accessTokenRef("guarded"))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it("refuses to print a token without get on its Secret, naming the roles that have it", async () => {
    const r = await plugin(["token", "guarded"], { kubeconfig: readerKubeconfig });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^error: forbidden: you may not get secret "guarded" in namespace .*Reading a token needs get on its Secret, which the edit and admin roles have and no keyward role grants/);
  });

  it("shows the status with the bundle marked forbidden when the ConfigMap may not be read", async () => {
    const r = await plugin(["status"], { kubeconfig: readerKubeconfig });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^guarded .* forbidden +forbidden$/m);
  });
});
