// config/ on a real API server: every object of config/default and of a workload with the
// verifier Component is accepted (server-side apply, dry run) with no warning, Pod Security
// Admission's "restricted" check included; and the RBAC does on the real authorizer what it
// promises: view reads ApiKeys but not Secrets, edit creates ApiKeys, the verifier reads the
// bundle ConfigMap and nothing else, the controller has what it needs and no more.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeRequest } from "../../src/controlplane/index.ts";
import { bearerKubeConfig, canI, serviceAccountToken, type Access } from "../config/support/identity.ts";
import { kustomizeBuild, KUSTOMIZE_BUILD_TIMEOUT_MS, one, type Manifest } from "../config/support/kustomize.ts";
import { createNamespace, eventually, Kube, useNamespace } from "./harness/index.ts";
import type { KubeObject } from "./harness/index.ts";

const kube = Kube.fromTestRun();
const suffix = Date.now().toString(36);
const FIELD_MANAGER = "keyward-config-test";

let defaultConfig: Manifest[] = [];
/** Objects this file created for real (not dry run), deleted at the end, newest first. */
const createdForReal: KubeObject[] = [];

beforeAll(() => {
  defaultConfig = kustomizeBuild("config/default");
}, KUSTOMIZE_BUILD_TIMEOUT_MS);

afterAll(async () => {
  for (const obj of createdForReal.reverse()) await kube.delete(obj);
});

const asObject = (m: Manifest): KubeObject => structuredClone<KubeObject>(m);

/**
 * Server-side apply for real. Objects that were not there before are deleted after the file; an
 * existing object (a cluster that already runs keyward) is left in place.
 */
async function applyForReal(m: Manifest): Promise<void> {
  const obj = asObject(m);
  const existed = (await kube.find(obj)) !== undefined;
  await kube.apply(obj, { fieldManager: FIELD_MANAGER });
  if (!existed) createdForReal.push(obj);
}

interface DryRun {
  status: number;
  body: string;
  warnings: string[];
}

/** Server-side apply with dryRun=All: what the API server (and its admission plugins) says. */
async function dryRunApply(obj: KubeObject): Promise<DryRun> {
  const path = await kube.path(Kube.ref(obj));
  const query = new URLSearchParams({ fieldManager: FIELD_MANAGER, fieldValidation: "Strict", force: "true", dryRun: "All" });
  const res = await kube.request({ method: "PATCH", path: `${path}?${query.toString()}`, body: obj, contentType: "application/apply-patch+yaml" });
  const header = res.headers.warning;
  const warnings = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return { status: res.status, body: res.body, warnings };
}

const label = (m: Manifest): string => `${m.kind}/${m.metadata.name}`;

describe("config/default on a real API server", () => {
  beforeAll(async () => {
    // The namespace is created for real: a dry run of it would leave nothing to put the rest in.
    await applyForReal(one(defaultConfig, "Namespace", "keyward-system"));
  });

  it("renders the objects the tests below apply", () => {
    expect(defaultConfig.length).toBeGreaterThan(15);
  });

  it("accepts every object, server-side applied with a dry run, with no warning (Pod Security \"restricted\" included)", async () => {
    const refused: string[] = [];
    for (const m of defaultConfig) {
      const result = await dryRunApply(asObject(m));
      if (result.status < 200 || result.status >= 300) refused.push(`${label(m)}: HTTP ${result.status}: ${result.body.slice(0, 400)}`);
      else if (result.warnings.length > 0) refused.push(`${label(m)}: warnings: ${result.warnings.join(" | ")}`);
    }
    expect(refused).toEqual([]);
  });

  it("would have the controller's pods refused where Pod Security enforces restricted if they ran as root (the check above can fail)", async () => {
    const deployment = asObject(one(defaultConfig, "Deployment", "keyward-controller"));
    const spec = deployment.spec as { template: { spec: { securityContext: Record<string, unknown>; containers: { securityContext: Record<string, unknown> }[] } } };
    spec.template.spec.securityContext.runAsNonRoot = false;
    for (const c of spec.template.spec.containers) c.securityContext.runAsNonRoot = false;
    const result = await dryRunApply(deployment);
    expect(result.status === 200 || result.status === 201, `HTTP ${result.status}: ${result.body.slice(0, 300)}`).toBe(true);
    expect(result.warnings.join(" ")).toMatch(/would violate PodSecurity \W*restricted.*runAsNonRoot/);
  });
});

describe("the verifier Component on a real API server", () => {
  const ns = useNamespace(kube, "config-verifier");

  beforeAll(async () => {
    // Warn (as config/manager's namespace does) so that the dry runs report any Pod Security problem.
    await kube.mergePatch({ apiVersion: "v1", kind: "Namespace", name: ns.name }, {
      metadata: { labels: { "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/enforce": "restricted" } },
    });
  });

  /** The example workload of `dir` moved from the sample tenant into this file's namespace. */
  function placed(dir: string): KubeObject[] {
    return kustomizeBuild(dir).map((m) => {
      const obj = asObject(m);
      obj.metadata.namespace = ns.name;
      if (obj.kind === "RoleBinding") {
        for (const s of (obj as KubeObject & { subjects: { namespace?: string }[] }).subjects) s.namespace = ns.name;
      }
      return obj;
    });
  }

  for (const dir of ["test/e2e/echo/configmap", "test/e2e/echo/file"]) {
    it(`accepts every object of ${dir} (dry run) with no warning`, async () => {
      const refused: string[] = [];
      for (const obj of placed(dir)) {
        const result = await dryRunApply(obj);
        if (result.status < 200 || result.status >= 300) refused.push(`${obj.kind}/${obj.metadata.name}: HTTP ${result.status}: ${result.body.slice(0, 400)}`);
        else if (result.warnings.length > 0) refused.push(`${obj.kind}/${obj.metadata.name}: warnings: ${result.warnings.join(" | ")}`);
      }
      expect(refused).toEqual([]);
    });
  }

  it("lets the pod's ServiceAccount get, list and watch the ConfigMap keyward-bundle by name, and nothing else", async () => {
    const objects = placed("test/e2e/echo/configmap");
    for (const obj of objects.filter((o) => o.kind === "Role" || o.kind === "RoleBinding")) await kube.apply(obj, { fieldManager: FIELD_MANAGER });
    await kube.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: ns.name } });
    for (const name of ["keyward-bundle", "another"]) {
      await kube.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns.name }, data: { "bundle.json": "{}" } });
    }
    const kc = bearerKubeConfig(kube.kc, await serviceAccountToken(kube, ns.name, "default"));
    const base = `/api/v1/namespaces/${ns.name}`;
    const byName = `fieldSelector=${encodeURIComponent("metadata.name=keyward-bundle")}`;
    const status = async (path: string): Promise<number> => (await kubeRequest(kc, { method: "GET", path })).status;

    await eventually("the verifier's Role to take effect", async () => (await status(`${base}/configmaps/keyward-bundle`)) === 200);
    expect(await status(`${base}/configmaps?${byName}`)).toBe(200);
    expect(await status(`${base}/configmaps?watch=true&timeoutSeconds=1&${byName}`)).toBe(200);
    expect(await status(`${base}/configmaps/another`)).toBe(403);
    expect(await status(`${base}/configmaps`)).toBe(403);
    expect(await status(`${base}/configmaps?watch=true&timeoutSeconds=1`)).toBe(403);
    expect(await status(`${base}/secrets`)).toBe(403);
    expect(await status(`/api/v1/namespaces/default/configmaps/keyward-bundle`)).toBe(403);
  });
});

describe("the roles for people on a real API server", () => {
  const ns = useNamespace(kube, "config-roles");
  const platformGroup = `platform-${suffix}`;
  const user = (name: string): string => `${name}-${suffix}`;

  beforeAll(async () => {
    for (const name of ["keyward-viewer", "keyward-editor", "keyward-admin", "keyward-clusterrotationpolicy-admin"]) {
      await applyForReal(one(defaultConfig, "ClusterRole", name));
    }
    const bind = async (name: string, role: string, who: string): Promise<void> => {
      await kube.create({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name, namespace: ns.name },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: who }],
      });
    };
    await bind("alice-view", "view", user("alice"));
    await bind("bob-edit", "edit", user("bob"));
    await bind("carol-admin", "admin", user("carol"));
    // The recipe of docs/operations.md: manage keys without reading tokens.
    await bind("dave-view", "view", user("dave"));
    await bind("dave-keyward-editor", "keyward-editor", user("dave"));
    const platform: KubeObject = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: `keyward-test-platform-${suffix}` },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "keyward-clusterrotationpolicy-admin" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: platformGroup }],
    };
    await kube.create(platform);
    createdForReal.push(platform);
  });

  const keyward = (verb: string, resource: string, namespace?: string): Access => ({
    verb,
    group: "keyward.dev",
    resource,
    ...(namespace === undefined ? {} : { namespace }),
  });

  it("lets a user bound to view get ApiKeys, but not Secrets, and not change ApiKeys", async () => {
    await eventually("keyward-viewer to be aggregated into view", () => canI(kube, user("alice"), keyward("get", "apikeys", ns.name)));
    for (const kind of ["apikeys", "accesstokens", "accesspolicies", "rotationpolicies"]) {
      expect(await canI(kube, user("alice"), keyward("list", kind, ns.name)), kind).toBe(true);
    }
    expect(await canI(kube, user("alice"), { verb: "get", resource: "secrets", namespace: ns.name })).toBe(false);
    expect(await canI(kube, user("alice"), keyward("create", "apikeys", ns.name))).toBe(false);
    expect(await canI(kube, user("alice"), keyward("patch", "apikeys", ns.name))).toBe(false);
  });

  it("lets a user bound to edit create ApiKeys and revoke AccessTokens, and (like every edit user) read Secrets", async () => {
    await eventually("keyward-editor to be aggregated into edit", () => canI(kube, user("bob"), keyward("create", "apikeys", ns.name)));
    expect(await canI(kube, user("bob"), keyward("patch", "accesstokens", ns.name))).toBe(true);
    expect(await canI(kube, user("bob"), keyward("delete", "accesspolicies", ns.name))).toBe(true);
    expect(await canI(kube, user("bob"), keyward("patch", "apikeys", ns.name))).toBe(true);
    expect(await canI(kube, user("bob"), { ...keyward("patch", "apikeys", ns.name), subresource: "status" })).toBe(false);
    // The reason docs/operations.md calls reading token Secrets the administration permission.
    expect(await canI(kube, user("bob"), { verb: "get", resource: "secrets", namespace: ns.name })).toBe(true);
  });

  it("lets a user bound to admin manage the namespaced kinds but not ClusterRotationPolicies", async () => {
    await eventually("keyward-admin to be aggregated into admin", () => canI(kube, user("carol"), keyward("deletecollection", "apikeys", ns.name)));
    expect(await canI(kube, user("carol"), keyward("create", "rotationpolicies", ns.name))).toBe(true);
    expect(await canI(kube, user("carol"), keyward("create", "clusterrotationpolicies"))).toBe(false);
  });

  it("lets a user with view and keyward-editor manage ApiKeys without reading Secrets", async () => {
    await eventually("dave's bindings to take effect", () => canI(kube, user("dave"), keyward("create", "apikeys", ns.name)));
    expect(await canI(kube, user("dave"), keyward("patch", "accesstokens", ns.name))).toBe(true);
    expect(await canI(kube, user("dave"), { verb: "get", resource: "secrets", namespace: ns.name })).toBe(false);
    expect(await canI(kube, user("dave"), { verb: "list", resource: "secrets", namespace: ns.name })).toBe(false);
  });

  it("lets only a group bound to keyward-clusterrotationpolicy-admin change ClusterRotationPolicies", async () => {
    await eventually("the platform binding to take effect", () => canI(kube, user("erin"), keyward("create", "clusterrotationpolicies"), [platformGroup]));
    expect(await canI(kube, user("erin"), keyward("delete", "clusterrotationpolicies"), [platformGroup])).toBe(true);
    expect(await canI(kube, user("erin"), keyward("create", "apikeys", ns.name), [platformGroup])).toBe(false);
    expect(await canI(kube, user("frank"), keyward("create", "clusterrotationpolicies"))).toBe(false);
  });
});

describe("the controller's RBAC on a real API server", () => {
  const sa = "system:serviceaccount:keyward-system:keyward-controller";
  const groups = ["system:serviceaccounts", "system:serviceaccounts:keyward-system"];
  let tenant = "";

  beforeAll(async () => {
    for (const m of defaultConfig.filter((x) => ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(x.kind))) {
      if (m.kind === "ClusterRole" && m.metadata.name !== "keyward-controller") continue;
      await applyForReal(m);
    }
    tenant = await createNamespace(kube, "config-controller");
    createdForReal.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: tenant } });
  });

  const can = (access: Access): Promise<boolean> => canI(kube, sa, access, groups);

  it("may read every keyward kind, write status, manage Secrets and the bundle ConfigMap, in any namespace", async () => {
    await eventually("the controller's ClusterRoleBinding to take effect", () => can({ verb: "watch", group: "keyward.dev", resource: "apikeys" }));
    for (const resource of ["apikeys", "accesstokens", "accesspolicies", "rotationpolicies"]) {
      expect(await can({ verb: "list", group: "keyward.dev", resource }), resource).toBe(true);
      expect(await can({ verb: "patch", group: "keyward.dev", resource, subresource: "status", namespace: tenant }), `${resource}/status`).toBe(true);
    }
    expect(await can({ verb: "update", group: "keyward.dev", resource: "apikeys", subresource: "finalizers", namespace: tenant })).toBe(true);
    expect(await can({ verb: "create", resource: "secrets", namespace: tenant })).toBe(true);
    expect(await can({ verb: "delete", resource: "secrets", namespace: tenant })).toBe(true);
    expect(await can({ verb: "update", resource: "configmaps", namespace: tenant })).toBe(true);
    expect(await can({ verb: "create", resource: "events", namespace: tenant })).toBe(true);
  });

  it("may not create or delete users' keyward objects, delete ConfigMaps, or touch anything else", async () => {
    await eventually("the controller's ClusterRoleBinding to take effect", () => can({ verb: "watch", group: "keyward.dev", resource: "apikeys" }));
    expect(await can({ verb: "create", group: "keyward.dev", resource: "apikeys", namespace: tenant })).toBe(false);
    expect(await can({ verb: "delete", group: "keyward.dev", resource: "apikeys", namespace: tenant })).toBe(false);
    expect(await can({ verb: "update", group: "keyward.dev", resource: "accesspolicies", namespace: tenant })).toBe(false);
    expect(await can({ verb: "delete", resource: "configmaps", namespace: tenant })).toBe(false);
    expect(await can({ verb: "get", resource: "pods", namespace: tenant })).toBe(false);
    expect(await can({ verb: "list", resource: "nodes" })).toBe(false);
    expect(await can({ verb: "create", group: "rbac.authorization.k8s.io", resource: "rolebindings", namespace: tenant })).toBe(false);
  });

  it("may take the leader Lease in its own namespace only", async () => {
    await eventually("the leader-election RoleBinding to take effect", () => can({ verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: "keyward-system" }));
    expect(await can({ verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "keyward-system", name: "keyward-controller" })).toBe(true);
    expect(await can({ verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "keyward-system", name: "kube-scheduler" })).toBe(false);
    expect(await can({ verb: "delete", group: "coordination.k8s.io", resource: "leases", namespace: "keyward-system" })).toBe(false);
    expect(await can({ verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: tenant })).toBe(false);
  });
});
