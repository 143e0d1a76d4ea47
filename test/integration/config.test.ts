// config/ on a real API server: every object of config/default and of a workload with the
// verifier Component is accepted (server-side apply, dry run) with no warning, Pod Security
// Admission's "restricted" check included; and the RBAC does on the real authorizer what it
// promises: the verifier reads the bundle ConfigMap and nothing else, the controller has what it
// needs and no more. The roles for people (the role x action table of docs/security.md) are in
// rbac.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubeRequest } from "../../src/controlplane/index.ts";
import { bearerKubeConfig, canI, serviceAccountToken, type Access } from "../config/support/identity.ts";
import { kustomizeBuild, KUSTOMIZE_BUILD_TIMEOUT_MS, one, type Manifest } from "../config/support/kustomize.ts";
import { createNamespace, eventually, Kube, useNamespace } from "./harness/index.ts";
import type { KubeObject } from "./harness/index.ts";

const kube = Kube.fromTestRun();
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

  it("lets the pod's ServiceAccount get, list and watch the ConfigMap keyward-bundle by name, get (only) a revocation segment slot, and nothing else", async () => {
    const objects = placed("test/e2e/echo/configmap");
    for (const obj of objects.filter((o) => o.kind === "Role" || o.kind === "RoleBinding")) await kube.apply(obj, { fieldManager: FIELD_MANAGER });
    await kube.apply({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: ns.name } });
    for (const name of ["keyward-bundle", "another", "keyward-bundle-revoked-7"]) {
      await kube.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns.name }, data: { "bundle.json": "{}" } });
    }
    const kc = bearerKubeConfig(kube.kc, await serviceAccountToken(kube, ns.name, "default"));
    const base = `/api/v1/namespaces/${ns.name}`;
    const byName = `fieldSelector=${encodeURIComponent("metadata.name=keyward-bundle")}`;
    const status = async (path: string): Promise<number> => (await kubeRequest(kc, { method: "GET", path })).status;

    await eventually("the verifier's Role to take effect", async () => (await status(`${base}/configmaps/keyward-bundle`)) === 200);
    expect(await status(`${base}/configmaps?${byName}`)).toBe(200);
    expect(await status(`${base}/configmaps?watch=true&timeoutSeconds=1&${byName}`)).toBe(200);
    expect(await status(`${base}/configmaps/keyward-bundle-revoked-7`)).toBe(200);
    const bySlot = `fieldSelector=${encodeURIComponent("metadata.name=keyward-bundle-revoked-7")}`;
    expect(await status(`${base}/configmaps?${bySlot}`)).toBe(403);
    expect(await status(`${base}/configmaps?watch=true&timeoutSeconds=1&${bySlot}`)).toBe(403);
    expect(await status(`${base}/configmaps/keyward-bundle-revoked-33`)).toBe(403);
    expect(await status(`${base}/configmaps/another`)).toBe(403);
    expect(await status(`${base}/configmaps`)).toBe(403);
    expect(await status(`${base}/configmaps?watch=true&timeoutSeconds=1`)).toBe(403);
    expect(await status(`${base}/secrets`)).toBe(403);
    expect(await status(`/api/v1/namespaces/default/configmaps/keyward-bundle`)).toBe(403);
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
