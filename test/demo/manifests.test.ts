// The objects the demo applies (config/demo: the samples plus the demo's own) and the loader
// that reads them the way `kubectl apply -k` would.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseDuration } from "../../src/api/duration.ts";
import type { AccessToken, ApiKey, RotationPolicy } from "../../src/api/types.generated.ts";
import { DEMO_API_KEY, DEMO_CI_TOKEN, DEMO_TOKEN, readKustomization, retarget, SAMPLE_ROLES, type Manifest } from "../../src/demo/index.ts";
import { loadCrds, REPO, rootSchema, validate } from "../crds/schema.ts";

const DEMO_DIR = join(REPO, "config", "demo");
const loaded = readKustomization(DEMO_DIR, REPO);
const objects = loaded.map((m) => m.object);
const ofKind = <T>(kind: string): T[] => objects.filter((o) => o.kind === kind) as unknown as T[];
const named = (kind: string, name: string): Manifest | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);

const scratch = mkdtempSync(join(tmpdir(), "keyward-demo-manifests-"));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(scratch, "k-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe("config/demo", () => {
  it("holds every sample, then the demo's RotationPolicy, ApiKey and two AccessTokens", () => {
    const files = new Set(loaded.map((m) => m.file));
    expect([...files].filter((f) => f.startsWith("config/samples/")).length).toBe(7);
    expect(named("RotationPolicy", "demo")).toBeDefined();
    expect(named("ApiKey", DEMO_API_KEY)).toBeDefined();
    expect(named("AccessToken", DEMO_TOKEN)).toBeDefined();
    expect(named("AccessToken", DEMO_CI_TOKEN)).toBeDefined();
  });

  it("lists the namespace first, then policies, keys and tokens", () => {
    const kinds = objects.map((o) => o.kind);
    expect(kinds[0]).toBe("Namespace");
    expect(kinds.lastIndexOf("AccessPolicy")).toBeLessThan(kinds.indexOf("ApiKey"));
    expect(kinds.lastIndexOf("ApiKey")).toBeLessThan(kinds.indexOf("AccessToken"));
    expect(kinds.lastIndexOf("RotationPolicy")).toBeLessThan(kinds.indexOf("ApiKey"));
  });

  it("matches the CRD schemas", () => {
    const crds = loadCrds();
    const errors = objects
      .filter((o) => o.apiVersion === "keyward.dev/v1alpha1")
      .flatMap((o) => {
        const crd = crds.get(o.kind);
        if (crd === undefined) return [`${o.kind} is not a keyward kind`];
        return validate(rootSchema(crd), o).map((e) => `${o.kind}/${o.metadata.name}: ${e.path} ${e.message}`);
      });
    expect(errors).toEqual([]);
  });

  it("refers only to objects it defines", () => {
    for (const key of ofKind<ApiKey>("ApiKey")) {
      for (const p of key.spec?.policies ?? []) expect(named("AccessPolicy", p), `${key.metadata.name ?? ""} → AccessPolicy ${p}`).toBeDefined();
      const ref = key.spec?.rotationPolicyRef;
      if (ref !== undefined) expect(named(ref.kind ?? "ClusterRotationPolicy", ref.name ?? "default"), `${key.metadata.name ?? ""} → ${ref.name ?? ""}`).toBeDefined();
    }
    for (const t of ofKind<AccessToken>("AccessToken")) expect(named("ApiKey", t.spec.apiKeyName), `${t.metadata.name ?? ""} → ApiKey`).toBeDefined();
  });

  it("puts the demo's ApiKey under a policy whose rotation takes seconds, and its tokens within the policy's lifetime", () => {
    const key = named("ApiKey", DEMO_API_KEY) as unknown as ApiKey;
    expect(key.spec?.rotationPolicyRef).toEqual({ kind: "RotationPolicy", name: "demo" });
    const policy = named("RotationPolicy", "demo") as unknown as RotationPolicy;
    expect(parseDuration(policy.spec.prePublish ?? "5m")).toBeLessThanOrEqual(10_000);
    expect(parseDuration(policy.spec.grace ?? "720h")).toBeGreaterThanOrEqual(3_600_000);
    for (const name of [DEMO_TOKEN, DEMO_CI_TOKEN]) {
      const t = named("AccessToken", name) as unknown as AccessToken;
      expect(t.spec.apiKeyName).toBe(DEMO_API_KEY);
      expect(parseDuration(t.spec.lifetime ?? "")).toBeLessThanOrEqual(parseDuration(policy.spec.maxTokenLifetime ?? ""));
    }
  });

  it("has an AccessToken for every sample role the requests use", () => {
    for (const role of SAMPLE_ROLES) expect(named("AccessToken", role.accessToken), role.accessToken).toBeDefined();
  });
});

describe("retarget", () => {
  it("moves the tenant to another namespace and leaves cluster-scoped objects alone", () => {
    const moved = retarget(objects, "demo-42");
    expect(moved.find((o) => o.kind === "Namespace")?.metadata.name).toBe("demo-42");
    for (const o of moved) {
      if (o.kind === "Namespace" || o.kind === "ClusterRotationPolicy") expect(o.metadata.namespace).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe("demo-42");
    }
    expect(objects.find((o) => o.kind === "Namespace")?.metadata.name).toBe("acme");
  });

  it("refuses manifests that create two namespaces", () => {
    const ns = (name: string): Manifest => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
    expect(() => retarget([ns("a"), ns("b")], "c")).toThrow("the manifests create 2 namespaces (a, b); the demo runs one tenant");
  });
});

describe("readKustomization", () => {
  it("follows directories in resources, in order", () => {
    const dir = fixture({
      "base/kustomization.yaml": "resources: [a.yaml]\n",
      "base/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: x}\n",
      "top/kustomization.yaml": "resources: [../base, c.yaml]\n",
      "top/c.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
    });
    const got = readKustomization(join(dir, "top"), dir);
    expect(got.map((m) => `${m.file}:${m.object.metadata.name}`)).toEqual(["top/c.yaml:x", "base/a.yaml:a", "base/a.yaml:b"]);
  });

  it("refuses what it would apply differently from kubectl apply -k", () => {
    const dir = fixture({ "kustomization.yaml": "resources: [a.yaml]\nnamespace: other\n", "a.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n" });
    expect(() => readKustomization(dir)).toThrow(/"namespace" is not supported here \(only resources\); render it with kubectl apply -k instead/);
  });

  it("names the missing resource, the document without a name and the cycle", () => {
    expect(() => readKustomization(fixture({ "kustomization.yaml": "resources: [gone.yaml]\n" }))).toThrow("resource gone.yaml does not exist");
    expect(() => readKustomization(fixture({ "kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": "kind: Namespace\n" }))).toThrow(
      "a.yaml: every document needs apiVersion, kind and metadata.name",
    );
    const cyc = fixture({ "a/kustomization.yaml": "resources: [../b]\n", "b/kustomization.yaml": "resources: [../a]\n" });
    expect(() => readKustomization(join(cyc, "a"), cyc)).toThrow("a/kustomization.yaml: included twice (a cycle of resources)");
  });
});
