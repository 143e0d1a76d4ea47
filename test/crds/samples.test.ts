import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/api/duration.ts";
import type { AccessPolicy, AccessToken, ApiKey, KeywardObject, RotationPolicy } from "../../src/api/types.generated.ts";
import { SAMPLES_DIR, loadCrds, readYaml, readYamlDocuments, rootSchema, validate } from "./schema.ts";

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

const crds = loadCrds();
const kustomization = readYaml(join(SAMPLES_DIR, "kustomization.yaml")) as { resources: string[]; namespace?: string };
const manifests: { file: string; object: Manifest }[] = kustomization.resources.flatMap((file) =>
  readYamlDocuments(join(SAMPLES_DIR, file)).map((object) => ({ file, object: object as Manifest })),
);
const keyward = manifests.filter((m) => m.object.apiVersion === "keyward.dev/v1alpha1").map((m) => m.object as unknown as KeywardObject);

function ofKind<K extends KeywardObject["kind"]>(kind: K): Extract<KeywardObject, { kind: K }>[] {
  return keyward.filter((o): o is Extract<KeywardObject, { kind: K }> => o.kind === kind);
}

function schemaErrors(object: Manifest): string[] {
  const crd = crds.get(object.kind);
  if (crd === undefined) return [`${object.kind} is not a keyward kind`];
  return validate(rootSchema(crd), object).map((e) => `${object.kind}/${object.metadata.name}: ${e.path} ${e.message}`);
}

describe("the samples", () => {
  it("are every YAML file of config/samples, listed in its kustomization, with no namespace transformer", () => {
    const files = readdirSync(SAMPLES_DIR).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(kustomization.namespace).toBeUndefined();
  });

  it("create the namespace acme and put every namespaced object in it", () => {
    expect(manifests.find((m) => m.object.kind === "Namespace")?.object.metadata.name).toBe("acme");
    for (const o of keyward) {
      if (o.kind === "ClusterRotationPolicy") expect(o.metadata.namespace).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name ?? ""}`).toBe("acme");
    }
  });

  it("match the CRD schemas", () => {
    expect(keyward.length).toBeGreaterThan(10);
    expect(keyward.flatMap((o) => schemaErrors(o as unknown as Manifest))).toEqual([]);
  });

  it("include the default ClusterRotationPolicy: every 720h with a 30-day grace", () => {
    const [policy, ...others] = ofKind("ClusterRotationPolicy");
    expect(others).toEqual([]);
    expect(policy?.metadata.name).toBe("default");
    expect(policy?.spec.schedule.every).toBe("720h");
    expect(parseDuration(policy?.spec.grace ?? "")).toBe(30 * 24 * 3_600_000);
  });

  it("include a RotationPolicy on a cron schedule in a time zone", () => {
    const policies: RotationPolicy[] = ofKind("RotationPolicy");
    expect(policies.some((p) => p.spec.schedule.cron !== undefined && p.spec.schedule.timeZone !== undefined && p.spec.schedule.timeZone !== "UTC")).toBe(true);
  });

  it("include an AccessPolicy, an ApiKey and an AccessToken for each role", () => {
    const roles = ["api-token-issuer", "datagrid-operator", "profile-api-read", "streaming-ingest-write"];
    expect(ofKind("AccessPolicy").map((p) => p.metadata.name).sort()).toEqual(roles);
    for (const role of roles) {
      const key: ApiKey | undefined = ofKind("ApiKey").find((k) => k.metadata.name === role);
      expect(key?.spec?.policies).toEqual([role]);
      const token: AccessToken | undefined = ofKind("AccessToken").find((t) => t.spec.apiKeyName === role);
      expect(token, role).toBeDefined();
    }
  });

  it("give each role the access the product describes", () => {
    const rules = (name: string): AccessPolicy["spec"]["rules"] => ofKind("AccessPolicy").find((p) => p.metadata.name === name)?.spec.rules ?? [];
    const allows = (name: string): { methods: string[]; paths: string[] }[] =>
      rules(name)
        .filter((r) => r.effect !== "Deny")
        .map((r) => ({ methods: [...r.methods].sort(), paths: r.paths }));
    expect(allows("api-token-issuer")).toEqual([{ methods: ["POST"], paths: ["/api/v0/admin/api-keys/*/tokens"] }]);
    expect(allows("datagrid-operator")).toEqual([{ methods: ["DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"], paths: ["/api/v0/datagrid/**"] }]);
    expect(allows("profile-api-read")).toEqual([{ methods: ["GET", "HEAD"], paths: ["/api/v0/profiles/**"] }]);
    expect(allows("streaming-ingest-write")).toEqual([{ methods: ["POST"], paths: ["/api/v0/streams/*/records"] }]);
  });

  it("refer only to objects the samples define", () => {
    const names = (kind: string): string[] => keyward.filter((o) => o.kind === kind).map((o) => o.metadata.name ?? "");
    for (const key of ofKind("ApiKey")) {
      for (const p of key.spec?.policies ?? []) expect(names("AccessPolicy")).toContain(p);
      const ref = key.spec?.rotationPolicyRef;
      expect(names(ref?.kind ?? "ClusterRotationPolicy")).toContain(ref?.name ?? "default");
    }
    for (const token of ofKind("AccessToken")) expect(names("ApiKey")).toContain(token.spec.apiKeyName);
  });

  it("keep token lifetimes within their rotation policy and renewBefore within the lifetime", () => {
    for (const token of ofKind("AccessToken")) {
      const key = ofKind("ApiKey").find((k) => k.metadata.name === token.spec.apiKeyName);
      const ref = key?.spec?.rotationPolicyRef ?? {};
      const policy = [...ofKind("RotationPolicy"), ...ofKind("ClusterRotationPolicy")].find(
        (p) => p.kind === (ref.kind ?? "ClusterRotationPolicy") && p.metadata.name === (ref.name ?? "default"),
      );
      const lifetime = parseDuration(token.spec.lifetime ?? policy?.spec.defaultTokenLifetime ?? "24h");
      expect(lifetime).toBeLessThanOrEqual(parseDuration(policy?.spec.maxTokenLifetime ?? "720h"));
      if (token.spec.renewBefore !== undefined) expect(parseDuration(token.spec.renewBefore)).toBeLessThan(lifetime);
    }
  });
});

describe("the schema check used on the samples", () => {
  const apiKey = rootSchema(crds.get("ApiKey") ?? (undefined as never));

  it("accepts a minimal ApiKey", () => {
    expect(validate(apiKey, { apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name: "a" }, spec: {} })).toEqual([]);
  });

  it("refuses an unknown field, a value outside an enum and a bad date-time, naming each field", () => {
    const errors = validate(apiKey, {
      apiVersion: "keyward.dev/v1alpha1",
      kind: "ApiKey",
      metadata: { name: "a" },
      spec: { rotationPolicyRef: { kind: "Policy" }, suspend: true, revokeIssuedBefore: "yesterday" },
    });
    expect(errors.map((e) => e.path).sort()).toEqual(["spec.revokeIssuedBefore", "spec.rotationPolicyRef.kind", "spec.suspend"]);
  });

  it("refuses a policy name that is not a DNS-1123 subdomain and more than 32 policies", () => {
    expect(validate(apiKey, { spec: { policies: ["Not_A_Name"] } }).map((e) => e.path)).toEqual(["spec.policies[0]"]);
    const many = Array.from({ length: 33 }, (_, i) => `p${i}`);
    expect(validate(apiKey, { spec: { policies: many } }).map((e) => e.message)).toEqual(["more than 32 items"]);
  });
});
