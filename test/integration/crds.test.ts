// The CRDs on a real API server: the samples apply, spec and status are separate,
// the printer columns show in kubectl's table output, and garbage collection by
// kube-controller-manager removes a Secret owned by a deleted ApiKey.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT } from "../../src/controlplane/index.ts";
import { eventually, Kube, readCrdFiles, useNamespace } from "./harness/index.ts";
import type { KubeObject } from "./harness/index.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "crds");
const API = "keyward.dev/v1alpha1";
const crds = readCrdFiles();
const SAMPLES = join(REPO_ROOT, "config", "samples");
const suffix = Date.now().toString(36);

interface Sample {
  file: string;
  obj: KubeObject;
}

function readSamples(): Sample[] {
  return readdirSync(SAMPLES)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(SAMPLES, file), "utf8"))
        .map((d) => d.toJS() as KubeObject | null)
        .filter((obj): obj is KubeObject => obj !== null && !obj.apiVersion.startsWith("kustomize.config.k8s.io/"))
        .map((obj) => ({ file, obj })),
    );
}

const isClusterScoped = (obj: KubeObject): boolean => obj.kind === "Namespace" || crds.some((c) => c.kind === obj.kind && c.scope === "Cluster");
const clusterLeftovers: KubeObject[] = [];

afterAll(async () => {
  for (const obj of clusterLeftovers) await kube.delete(obj);
});

/** The sample moved into this file's namespace; cluster-scoped samples get a unique name. */
function placed(sample: KubeObject): KubeObject {
  const obj = structuredClone(sample);
  if (obj.kind === "Namespace") obj.metadata.name = ns.name;
  else if (isClusterScoped(obj)) obj.metadata.name = `${obj.metadata.name}-${suffix}`;
  else obj.metadata.namespace = ns.name;
  return obj;
}

describe("the sample manifests", () => {
  const samples = readSamples();

  it("include an object of every kind that people write", () => {
    // IssuedTokens are records the token service writes when it issues a token; nobody writes one by hand.
    const written = crds.map((c) => c.kind).filter((kind) => kind !== "IssuedToken");
    expect(new Set(samples.map((s) => s.obj.kind))).toEqual(new Set(["Namespace", ...written]));
  });

  for (const { file, obj } of samples) {
    it(`applies ${obj.kind} ${obj.metadata.name} from ${file} server-side with no field dropped`, async () => {
      const target = placed(obj);
      const applied = await kube.apply(target);
      if (isClusterScoped(target) && target.kind !== "Namespace") clusterLeftovers.push(applied);
      expect(applied.metadata.name).toBe(target.metadata.name);
      if ("spec" in target) expect(applied.spec).toMatchObject(target.spec as object);
    });
  }
});

describe("spec and status", () => {
  it("keeps status out of spec writes and spec out of status writes; only spec bumps metadata.generation", async () => {
    const created = await kube.create({ apiVersion: API, kind: "ApiKey", metadata: { name: "generation", namespace: ns.name }, spec: {} });
    expect(created.metadata.generation).toBe(1);

    const statusWritten = await kube.mergePatch(
      created,
      { spec: { suspended: true }, status: { activeKid: "kid-1", observedGeneration: 1 } },
      { subresource: "status" },
    );
    expect(statusWritten.metadata.generation).toBe(1);
    expect(statusWritten.status).toEqual({ activeKid: "kid-1", observedGeneration: 1 });
    expect(statusWritten.spec).toMatchObject({ suspended: false });

    const specWritten = await kube.mergePatch(created, { spec: { suspended: true }, status: { activeKid: "kid-2" } });
    expect(specWritten.metadata.generation).toBe(2);
    expect(specWritten.spec).toMatchObject({ suspended: true });
    expect(specWritten.status).toEqual({ activeKid: "kid-1", observedGeneration: 1 });
  });

  it("validates status writes against the status schema", async () => {
    const created = await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "status-schema", namespace: ns.name }, spec: { apiKeyName: "reporting" } });
    const error = await kube.rejection(() => kube.mergePatch(created, { status: { jti: "not base64url!" } }, { subresource: "status" }));
    expect(error.status).toBe(422);
    expect(error.serverMessage).toContain(`status.jti: Invalid value: "not base64url!": jti in body should match '^[A-Za-z0-9_-]+$'`);
  });
});

describe("the printer columns", () => {
  const table = async (obj: KubeObject): Promise<Record<string, unknown>> => {
    const t = await kube.table(obj);
    const row = t.rows[0];
    if (row === undefined) throw new Error(`no table row for ${obj.kind} ${obj.metadata.name}`);
    return Object.fromEntries(t.columnDefinitions.map((c, i) => [c.name, row.cells[i]]));
  };

  it("are what the server's table output shows for every kind, in the CRDs' order", async () => {
    for (const crd of crds) {
      const t = await kube.table({ apiVersion: crd.apiVersion, kind: crd.kind, namespace: crd.scope === "Namespaced" ? ns.name : undefined });
      expect(t.columnDefinitions.map((c) => c.name), crd.kind).toEqual(["Name", ...crd.printerColumns.map((c) => c.name)]);
    }
  });

  it("show an ApiKey's readiness, active key and suspension", async () => {
    const key = await kube.create({ apiVersion: API, kind: "ApiKey", metadata: { name: "columns", namespace: ns.name }, spec: { suspended: true } });
    await kube.mergePatch(
      key,
      {
        status: {
          activeKid: "kid-active",
          nextRotationTime: "2026-12-29T12:00:00Z",
          conditions: [{ type: "Ready", status: "True", reason: "KeyActive", message: "the active key signs tokens", lastTransitionTime: "2026-11-29T12:00:00Z" }],
        },
      },
      { subresource: "status" },
    );
    expect(await table(key)).toMatchObject({ Name: "columns", Ready: "True", "Active Key": "kid-active", "Next Rotation": "2026-12-29T12:00:00Z", Suspended: true });
  });

  it("show an AccessToken's ApiKey, expiry and revocation", async () => {
    const token = await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "columns", namespace: ns.name }, spec: { apiKeyName: "reporting", lifetime: "24h" } });
    await kube.mergePatch(token, { status: { expiresAt: "2026-11-30T12:00:00Z", renewAt: "2026-11-30T04:00:00Z" } }, { subresource: "status" });
    expect(await table(token)).toMatchObject({ Name: "columns", ApiKey: "reporting", Expires: "2026-11-30T12:00:00Z", Renews: "2026-11-30T04:00:00Z", Revoked: false });
  });

  it("show an AccessPolicy's rule count", async () => {
    const policy = await kube.create({ apiVersion: API, kind: "AccessPolicy", metadata: { name: "columns", namespace: ns.name }, spec: { rules: [{ methods: ["GET"], paths: ["/a"] }, { methods: ["POST"], paths: ["/b"] }] } });
    await kube.mergePatch(policy, { status: { ruleCount: 2 } }, { subresource: "status" });
    expect(await table(policy)).toMatchObject({ Name: "columns", Rules: 2 });
  });

  it("show a rotation policy's schedule whether it is an interval or a cron expression", async () => {
    const every = await kube.create({ apiVersion: API, kind: "RotationPolicy", metadata: { name: "every", namespace: ns.name }, spec: { schedule: { every: "168h" }, algorithm: "ES256" } });
    expect(await table(every)).toMatchObject({ Algorithm: "ES256", Schedule: "168h", Grace: "720h" });
    const cron = await kube.create({ apiVersion: API, kind: "ClusterRotationPolicy", metadata: { name: `cron-${suffix}` }, spec: { schedule: { cron: "0 3 * * 1" }, grace: "24h" } });
    clusterLeftovers.push(cron);
    expect(await table(cron)).toMatchObject({ Algorithm: "EdDSA", Schedule: "0 3 * * 1", Grace: "24h" });
  });
});

describe("garbage collection", () => {
  it("deletes a Secret owned by an ApiKey once the ApiKey is deleted", async () => {
    const key = await kube.create({ apiVersion: API, kind: "ApiKey", metadata: { name: "owner", namespace: ns.name }, spec: {} });
    const ownerReferences = [{ apiVersion: API, kind: "ApiKey", name: key.metadata.name, uid: key.metadata.uid!, controller: true, blockOwnerDeletion: true }];
    const secret = await kube.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "owned", namespace: ns.name, ownerReferences }, type: "Opaque", stringData: { k: "v" } });
    const bystander = await kube.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "not-owned", namespace: ns.name }, type: "Opaque" });

    await kube.delete(key, "Background");
    await eventually("the garbage collector to delete the owned Secret", async () => (await kube.find(secret)) === undefined, { timeoutMs: 100_000, intervalMs: 500 });
    expect(await kube.find(bystander)).toBeDefined();
  });
});
