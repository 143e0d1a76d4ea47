// The role x action table of docs/security.md ("Who can do what") on a real API server, with the
// roles of config/default and the built-in view, edit and admin as the API server bootstraps them
// and the kube-controller-manager aggregates them. Each row is one subject; each cell that
// Kubernetes decides is asked of the real authorizer (a SubjectAccessReview), and the cells that
// changed with "API key administration" are also done for real, as that subject (a
// ServiceAccount token), through the API and through kubectl keyward.
//
// The rows of the controller and of the verifier's ServiceAccount are in config.test.ts. What a
// token service caller may do is decided by keyward credentials, not by Kubernetes RBAC: see
// test/issuer.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearerKubeConfig, canI, serviceAccountGroups, serviceAccountToken, serviceAccountUser, writeKubeConfig, type Access } from "../config/support/identity.ts";
import { kustomizeBuild, KUSTOMIZE_BUILD_TIMEOUT_MS, one } from "../config/support/kustomize.ts";
import { run } from "../plugin/support.ts";
import { eventually, Kube, useNamespace } from "./harness/index.ts";
import type { KubeObject } from "./harness/index.ts";

const kube = Kube.fromTestRun();
const tenant = useNamespace(kube, "rbac-tenant");
const API = "keyward.dev/v1alpha1";
const FIELD_MANAGER = "keyward-rbac-test";
/** keyward's own namespace (--system-namespace): private signing keys and the bundle trust ConfigMap. */
const SYSTEM_NAMESPACE = "keyward-system";
const PEOPLE_ROLES = ["keyward-viewer", "keyward-editor", "keyward-admin", "keyward-clusterrotationpolicy-admin"];
const suffix = Date.now().toString(36);
/** What the token Secret holds here; the plugin prints it without checking a signature. */
const JWT = "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJyZXBvcnRpbmcifQ.c2lnbmF0dXJlLW5vdC1jaGVja2Vk";
const platformGroup = `platform-${suffix}`;

/** The subjects of the table: a ServiceAccount of the tenant per row, bound with RoleBindings there. */
const SUBJECTS = {
  edit: ["edit"],
  view: ["view"],
  admin: ["admin"],
  "keyward-viewer": ["keyward-viewer"],
  "keyward-editor": ["view", "keyward-editor"],
  "keyward-admin": ["keyward-admin"],
} as const;
type Subject = keyof typeof SUBJECTS;

/** Objects this file created (not those that existed before), deleted at the end, newest first. */
const created: KubeObject[] = [];
let scratch = "";

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "keyward-rbac-test-"));
  const config = kustomizeBuild("config/default");
  for (const name of PEOPLE_ROLES) {
    const role = structuredClone<KubeObject>(one(config, "ClusterRole", name));
    const existed = (await kube.find(role)) !== undefined;
    await kube.apply(role, { fieldManager: FIELD_MANAGER });
    if (!existed) created.push(role);
  }
  for (const [subject, roles] of Object.entries(SUBJECTS)) {
    await kube.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: subject, namespace: tenant.name } });
    for (const role of roles) {
      await kube.create({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: `${subject}-${role}`, namespace: tenant.name },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
        subjects: [{ kind: "ServiceAccount", name: subject, namespace: tenant.name }],
      });
    }
  }
  const platform: KubeObject = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `keyward-test-platform-${suffix}` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "keyward-clusterrotationpolicy-admin" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: platformGroup }],
  };
  await kube.create(platform);
  created.push(platform);
  // What the rows below ask for exists, so that real calls are refused or allowed for RBAC's reasons.
  await kube.create({ apiVersion: API, kind: "ApiKey", metadata: { name: "reporting", namespace: tenant.name }, spec: { policies: ["reporting-read"] } });
  await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "reporting", namespace: tenant.name }, spec: { apiKeyName: "reporting" } });
  // Every aggregation has happened once the built-in roles hold a rule of each keyward role.
  await eventually("keyward-viewer to be aggregated into view and edit", async () => (await can("view", read("apikeys"))) && (await can("edit", read("apikeys"))));
  await eventually("keyward-admin to be aggregated into admin", () => can("admin", write("create", "apikeys")));
  await eventually("the RoleBindings to take effect", async () => (await can("keyward-editor", write("create", "accesstokens"))) && (await can("keyward-admin", write("create", "apikeys"))) && (await can("keyward-viewer", read("apikeys"))));
}, KUSTOMIZE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  for (const obj of created.reverse()) await kube.delete(obj);
  rmSync(scratch, { recursive: true, force: true });
});

const read = (resource: string): Access => ({ verb: "get", group: "keyward.dev", resource, namespace: tenant.name });
const write = (verb: string, resource: string): Access => ({ verb, group: "keyward.dev", resource, namespace: tenant.name });

/** Whether the authorizer lets the ServiceAccount of `subject` do `access`. */
function can(subject: Subject, access: Access): Promise<boolean> {
  return canI(kube, serviceAccountUser(tenant.name, subject), access, serviceAccountGroups(tenant.name));
}

/** The cells of the table that Kubernetes RBAC decides, as the authorizer answers them. */
async function row(ask: (access: Access) => Promise<boolean>): Promise<Record<string, boolean>> {
  const ns = tenant.name;
  const all = async (accesses: Access[]): Promise<boolean> => (await Promise.all(accesses.map(ask))).every(Boolean);
  const any = async (accesses: Access[]): Promise<boolean> => (await Promise.all(accesses.map(ask))).some(Boolean);
  const change = (resource: string): Access[] => ["create", "update", "patch", "delete"].map((verb) => write(verb, resource));
  return {
    "read keyward objects": await all(["apikeys", "accesstokens", "accesspolicies", "rotationpolicies", "issuedtokens"].map(read)),
    "create or modify an ApiKey": await any([write("create", "apikeys"), write("update", "apikeys"), write("delete", "apikeys")]),
    "rotate or revoke an ApiKey": await ask(write("patch", "apikeys")),
    "change AccessPolicies": await any(change("accesspolicies")),
    "change RotationPolicies": await any(change("rotationpolicies")),
    "change ClusterRotationPolicies": await any(["create", "update", "patch", "delete"].map((verb) => ({ verb, group: "keyward.dev", resource: "clusterrotationpolicies" }))),
    "create an AccessToken": await ask(write("create", "accesstokens")),
    "revoke an AccessToken": await all([write("patch", "accesstokens"), write("delete", "accesstokens")]),
    "revoke an IssuedToken": await ask(write("patch", "issuedtokens")),
    "delete an IssuedToken": await ask(write("delete", "issuedtokens")),
    "read token Secrets": await ask({ verb: "get", resource: "secrets", namespace: ns }),
    "read Secrets of the system namespace": await any(["get", "list", "watch"].map((verb) => ({ verb, resource: "secrets", namespace: SYSTEM_NAMESPACE }))),
    "write the bundle ConfigMap": await ask({ verb: "update", resource: "configmaps", namespace: ns, name: "keyward-bundle" }),
    "write ConfigMaps of the system namespace": await any(["create", "update", "patch"].map((verb) => ({ verb, resource: "configmaps", namespace: SYSTEM_NAMESPACE }))),
    "write status": await ask({ ...write("patch", "apikeys"), subresource: "status" }),
    // Whoever may act as a ServiceAccount of the namespace has the keyward roles bound to it.
    "act as a ServiceAccount of the namespace": await any([
      { verb: "impersonate", resource: "serviceaccounts", namespace: ns },
      { verb: "create", resource: "serviceaccounts", subresource: "token", namespace: ns },
      { verb: "create", resource: "pods", namespace: ns },
    ]),
  };
}

/** A row with every cell false but those named. */
function only(...allowed: string[]): Record<string, boolean> {
  const cells = [
    "read keyward objects", "create or modify an ApiKey", "rotate or revoke an ApiKey", "change AccessPolicies", "change RotationPolicies",
    "change ClusterRotationPolicies", "create an AccessToken", "revoke an AccessToken", "revoke an IssuedToken", "delete an IssuedToken",
    "read token Secrets", "read Secrets of the system namespace", "write the bundle ConfigMap", "write ConfigMaps of the system namespace", "write status",
    "act as a ServiceAccount of the namespace",
  ];
  for (const cell of allowed) if (!cells.includes(cell)) throw new Error(`no cell "${cell}"`);
  return Object.fromEntries(cells.map((c) => [c, allowed.includes(c)]));
}

const ADMINISTRATION = ["create or modify an ApiKey", "rotate or revoke an ApiKey", "change AccessPolicies", "change RotationPolicies", "delete an IssuedToken"];
const USE = ["read keyward objects", "create an AccessToken", "revoke an AccessToken", "revoke an IssuedToken"];

describe("the role x action table on a real API server", () => {
  it("lets edit read keyward objects and (as Kubernetes does) the namespace's Secrets and ConfigMaps, but neither administer keys nor request or revoke tokens", async () => {
    expect(await row((a) => can("edit", a))).toEqual(only("read keyward objects", "read token Secrets", "write the bundle ConfigMap", "act as a ServiceAccount of the namespace"));
  });

  it("lets view read keyward objects and nothing else", async () => {
    expect(await row((a) => can("view", a))).toEqual(only("read keyward objects"));
  });

  it("lets admin administer keys and use them, and (as Kubernetes does) read the namespace's Secrets, but not ClusterRotationPolicies or the system namespace", async () => {
    expect(await row((a) => can("admin", a))).toEqual(only(...ADMINISTRATION, ...USE, "read token Secrets", "write the bundle ConfigMap", "act as a ServiceAccount of the namespace"));
  });

  it("lets keyward-viewer alone read keyward objects and nothing else", async () => {
    expect(await row((a) => can("keyward-viewer", a))).toEqual(only("read keyward objects"));
  });

  it("lets keyward-editor (with view) request and revoke tokens, but not administer keys, delete records or read any Secret", async () => {
    expect(await row((a) => can("keyward-editor", a))).toEqual(only(...USE));
  });

  it("lets keyward-admin alone administer keys and use them, without reading any Secret or writing any ConfigMap", async () => {
    expect(await row((a) => can("keyward-admin", a))).toEqual(only(...ADMINISTRATION, ...USE));
  });

  it("lets keyward-clusterrotationpolicy-admin change ClusterRotationPolicies and nothing of a tenant", async () => {
    const ask = (a: Access): Promise<boolean> => canI(kube, `erin-${suffix}`, a, [platformGroup]);
    await eventually("the platform binding to take effect", () => ask({ verb: "create", group: "keyward.dev", resource: "clusterrotationpolicies" }));
    expect(await row(ask)).toEqual(only("change ClusterRotationPolicies"));
    expect(await canI(kube, `frank-${suffix}`, { verb: "create", group: "keyward.dev", resource: "clusterrotationpolicies" })).toBe(false);
  });
});

describe("the changed cells, done for real as each subject", () => {
  /** The ServiceAccount of `subject`, as a client of its own, and as a kubeconfig file for kubectl keyward. */
  const identities = new Map<Subject, { as: Kube; kubeconfig: string }>();
  async function as(subject: Subject): Promise<{ as: Kube; kubeconfig: string }> {
    let id = identities.get(subject);
    if (id === undefined) {
      const kubeconfig = writeKubeConfig(bearerKubeConfig(kube.kc, await serviceAccountToken(kube, tenant.name, subject)), scratch, subject);
      id = { as: new Kube(kubeconfig), kubeconfig };
      identities.set(subject, id);
    }
    return id;
  }

  /** The HTTP status of creating `obj` as `subject` (a 403 stores nothing). */
  async function createAs(subject: Subject, obj: KubeObject): Promise<number> {
    const { as: client } = await as(subject);
    const res = await client.request({ method: "POST", path: await kube.path({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: tenant.name }), body: obj });
    return res.status;
  }

  const apiKey = (name: string): KubeObject => ({ apiVersion: API, kind: "ApiKey", metadata: { name, namespace: tenant.name }, spec: { policies: ["reporting-read"] } });
  const accessToken = (name: string): KubeObject => ({ apiVersion: API, kind: "AccessToken", metadata: { name, namespace: tenant.name }, spec: { apiKeyName: "reporting" } });
  const accessPolicy = (name: string): KubeObject => ({
    apiVersion: API, kind: "AccessPolicy", metadata: { name, namespace: tenant.name }, spec: { rules: [{ effect: "Allow", methods: ["GET"], paths: ["/reports/**"] }] },
  });
  /** `kubectl keyward <argv> -n <tenant>` as `subject`. */
  async function keyward(subject: Subject, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return run([...argv, "-n", tenant.name, "--kubeconfig", (await as(subject)).kubeconfig], { env: {} });
  }
  const resourceVersion = async (obj: KubeObject): Promise<string | undefined> => (await kube.get(obj)).metadata.resourceVersion;

  it("refuses an edit user who creates an ApiKey, an AccessPolicy or an AccessToken, or rotates an ApiKey", async () => {
    expect(await createAs("edit", apiKey("by-edit"))).toBe(403);
    expect(await createAs("edit", accessPolicy("by-edit"))).toBe(403);
    expect(await createAs("edit", accessToken("by-edit"))).toBe(403);
    const before = await resourceVersion(apiKey("reporting"));
    const rotate = await keyward("edit", ["rotate", "reporting"]);
    expect(rotate.code, rotate.stderr).toBe(1);
    expect(rotate.stderr).toContain("it needs keyward-admin in the namespace");
    expect(await resourceVersion(apiKey("reporting"))).toBe(before);
    expect(await kube.find(apiKey("by-edit"))).toBeUndefined();
  });

  it("still lets an edit user read a token Secret: Kubernetes gives edit every Secret of its namespace", async () => {
    const owner = await kube.get(accessToken("reporting"));
    await kube.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "reporting", namespace: tenant.name, ownerReferences: [{ apiVersion: API, kind: "AccessToken", name: "reporting", uid: owner.metadata.uid!, controller: true }] },
      type: "keyward.dev/access-token",
      data: { token: Buffer.from(JWT).toString("base64") },
    });
    expect(await keyward("edit", ["token", "reporting"])).toEqual({ code: 0, stdout: `${JWT}\n`, stderr: "" });
  });

  it("lets a keyward-editor create and revoke an AccessToken, and refuses its ApiKey, AccessPolicy and rotation", async () => {
    expect(await createAs("keyward-editor", accessToken("by-editor"))).toBe(201);
    const revoke = await keyward("keyward-editor", ["revoke-token", "by-editor"]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(((await kube.get(accessToken("by-editor"))).spec as { revoked?: boolean }).revoked).toBe(true);
    expect(await createAs("keyward-editor", apiKey("by-editor"))).toBe(403);
    expect(await createAs("keyward-editor", accessPolicy("by-editor"))).toBe(403);
    const before = await resourceVersion(apiKey("reporting"));
    const rotate = await keyward("keyward-editor", ["revoke", "reporting", "--all"]);
    expect(rotate.code, rotate.stderr).toBe(1);
    expect(rotate.stderr).toContain("it needs keyward-admin in the namespace");
    expect(await resourceVersion(apiKey("reporting"))).toBe(before);
  });

  it("does not let a keyward-editor read the token of an AccessToken", async () => {
    const token = await keyward("keyward-editor", ["token", "reporting"]);
    expect(token.code).toBe(1);
    expect(token.stdout).toBe("");
    expect(token.stderr).toContain("you may not get secret");
  });

  it("lets a keyward-admin create an ApiKey and an AccessPolicy and rotate an ApiKey", async () => {
    expect(await createAs("keyward-admin", apiKey("by-admin"))).toBe(201);
    expect(await createAs("keyward-admin", accessPolicy("by-admin"))).toBe(201);
    const rotate = await keyward("keyward-admin", ["rotate", "by-admin", "--value", "CHG-1"]);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect(((await kube.get(apiKey("by-admin"))).spec as { rotate?: string }).rotate).toBe("CHG-1");
  });

  it("lets a namespace admin bind keyward-editor and keyward-admin to others, and refuses edit", async () => {
    const binding = (name: string, role: string): KubeObject => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace: tenant.name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `devs-${suffix}` }],
    });
    expect(await createAs("admin", binding("devs-keyward-editor", "keyward-editor"))).toBe(201);
    expect(await createAs("admin", binding("devs-keyward-admin", "keyward-admin"))).toBe(201);
    expect(await createAs("edit", binding("by-edit-keyward-editor", "keyward-editor"))).toBe(403);
  });

  it("refuses a view user every change", async () => {
    expect(await createAs("view", accessToken("by-view"))).toBe(403);
    const revoke = await keyward("view", ["revoke-token", "reporting"]);
    expect(revoke.code).toBe(1);
    expect(revoke.stderr).toContain("it needs keyward-editor or keyward-admin in the namespace");
  });
});
