import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DURATION_PATTERN, parseDuration } from "../../src/api/duration.ts";
import { ALGORITHMS, KEY_STATES } from "../../src/token/types.ts";
import {
  CRD_DIR,
  REPO,
  crdFiles,
  loadCrds,
  readYaml,
  readYamlDocuments,
  resolveJsonPath,
  rootSchema,
  walk,
  type Crd,
  type Schema,
} from "./schema.ts";

const EXPECTED = [
  { kind: "AccessPolicy", plural: "accesspolicies", scope: "Namespaced", shortNames: ["ap"], columns: ["Rules", "Ready", "Age"] },
  { kind: "AccessToken", plural: "accesstokens", scope: "Namespaced", shortNames: ["at"], columns: ["ApiKey", "Ready", "Expires", "Renews", "Revoked", "Age"] },
  { kind: "ApiKey", plural: "apikeys", scope: "Namespaced", shortNames: ["ak"], columns: ["Ready", "Active Key", "Next Rotation", "Suspended", "Age"] },
  { kind: "ClusterRotationPolicy", plural: "clusterrotationpolicies", scope: "Cluster", shortNames: ["crp"], columns: ["Algorithm", "Schedule", "Grace", "Age"] },
  { kind: "IssuedToken", plural: "issuedtokens", scope: "Namespaced", shortNames: ["it"], columns: ["ApiKey", "Issued By", "Expires", "Revoked", "Age"] },
  { kind: "RotationPolicy", plural: "rotationpolicies", scope: "Namespaced", shortNames: ["rp"], columns: ["Algorithm", "Schedule", "Grace", "Age"] },
] as const;

const crds = loadCrds();

function crd(kind: string): Crd {
  const c = crds.get(kind);
  if (c === undefined) throw new Error(`no CRD for ${kind}`);
  return c;
}

function at(schema: Schema, path: string): Schema {
  const node = walk(schema).find((n) => n.path === path);
  if (node === undefined) throw new Error(`no schema node ${path}`);
  return node.schema;
}

/** Schema nodes below the root, leaving out the root's metadata (the API server forbids describing it). */
function fields(c: Crd): { path: string; schema: Schema }[] {
  return walk(rootSchema(c)).filter((n) => n.path !== "" && n.path !== "metadata");
}

describe("the CRD files", () => {
  it("are one file per kind, each a single apiextensions.k8s.io/v1 CustomResourceDefinition named after its file", () => {
    expect(crdFiles()).toEqual(EXPECTED.map((e) => `${e.plural}.keyward.dev.yaml`).sort());
    for (const file of crdFiles()) {
      const docs = readYamlDocuments(join(CRD_DIR, file));
      expect(docs, file).toHaveLength(1);
      const c = docs[0] as Crd;
      expect(c.apiVersion, file).toBe("apiextensions.k8s.io/v1");
      expect(c.kind, file).toBe("CustomResourceDefinition");
      expect(`${c.metadata.name}.yaml`).toBe(file);
    }
  });

  it.each(EXPECTED)("define $kind in group keyward.dev, version v1alpha1 served and stored, with its scope and names", (e) => {
    const c = crd(e.kind);
    expect(c.spec.group).toBe("keyward.dev");
    expect(c.metadata.name).toBe(`${e.plural}.keyward.dev`);
    expect(c.spec.scope).toBe(e.scope);
    expect(c.spec.names).toMatchObject({ kind: e.kind, listKind: `${e.kind}List`, plural: e.plural, singular: e.kind.toLowerCase() });
    expect(c.spec.names.shortNames).toEqual(e.shortNames);
    expect(c.spec.names.categories).toEqual(["keyward"]);
    expect(c.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([["v1alpha1", true, true]]);
  });

  it.each(EXPECTED)("give $kind a status subresource and a status with observedGeneration and conditions", (e) => {
    const c = crd(e.kind);
    expect(c.spec.versions[0]?.subresources?.status).toEqual({});
    const status = at(rootSchema(c), "status");
    expect(status.properties?.observedGeneration).toMatchObject({ type: "integer", format: "int64", minimum: 0 });
    expect(status.properties?.conditions).toBeDefined();
  });

  it("share one metav1.Condition schema, a list map keyed by type", () => {
    const schemas = [...crds.values()].map((c) => at(rootSchema(c), "status.conditions"));
    for (const s of schemas) {
      expect(s).toEqual(schemas[0]);
      expect(s["x-kubernetes-list-type"]).toBe("map");
      expect(s["x-kubernetes-list-map-keys"]).toEqual(["type"]);
      expect(s.items?.required).toEqual(["type", "status", "lastTransitionTime", "reason", "message"]);
      expect(s.items?.properties?.status?.enum).toEqual(["True", "False", "Unknown"]);
    }
  });

  it("describe every field at every depth, so that kubectl explain documents it", () => {
    const missing = [...crds.values()].flatMap((c) =>
      [{ path: "", schema: rootSchema(c) }, ...fields(c)]
        .filter((n) => typeof n.schema.description !== "string" || n.schema.description.trim().length < 8)
        .map((n) => `${c.spec.names.kind}: ${n.path === "" ? "<root>" : n.path}`),
    );
    expect(missing).toEqual([]);
  });

  it("leave the root metadata undescribed and unconstrained, as the API server requires", () => {
    for (const c of crds.values()) expect(rootSchema(c).properties?.metadata).toEqual({ type: "object" });
  });

  it("give every field a type (structural schemas)", () => {
    const untyped = [...crds.values()].flatMap((c) => fields(c).filter((n) => n.schema.type === undefined).map((n) => `${c.spec.names.kind}: ${n.path}`));
    expect(untyped).toEqual([]);
  });

  it("bound every string with maxLength, enum, format or pattern", () => {
    const unbounded = [...crds.values()].flatMap((c) =>
      fields(c)
        .filter((n) => n.schema.type === "string")
        .filter((n) => n.schema.maxLength === undefined && n.schema.enum === undefined && n.schema.format === undefined && n.schema.pattern === undefined)
        .map((n) => `${c.spec.names.kind}: ${n.path}`),
    );
    expect(unbounded).toEqual([]);
  });

  it("bound every array with maxItems and every map with maxProperties", () => {
    const unbounded = [...crds.values()].flatMap((c) =>
      fields(c)
        .filter(
          (n) =>
            (n.schema.type === "array" && n.schema.maxItems === undefined) ||
            (n.schema.type === "object" && typeof n.schema.additionalProperties === "object" && n.schema.maxProperties === undefined),
        )
        .map((n) => `${c.spec.names.kind}: ${n.path}`),
    );
    expect(unbounded).toEqual([]);
  });

  it("give every list a list type, and list maps keys that are required", () => {
    for (const c of crds.values()) {
      for (const n of fields(c).filter((f) => f.schema.type === "array")) {
        const listType = n.schema["x-kubernetes-list-type"];
        expect(["atomic", "set", "map"], `${c.spec.names.kind}: ${n.path}`).toContain(listType);
        if (listType === "map") {
          for (const key of n.schema["x-kubernetes-list-map-keys"] ?? []) expect(n.schema.items?.required).toContain(key);
        }
      }
    }
  });

  it("declare only required fields that exist", () => {
    for (const c of crds.values()) {
      for (const n of walk(rootSchema(c))) {
        for (const r of n.schema.required ?? []) expect(Object.keys(n.schema.properties ?? {}), `${c.spec.names.kind}: ${n.path}`).toContain(r);
      }
    }
  });

  it("give every CEL rule a message or messageExpression naming the field", () => {
    for (const c of crds.values()) {
      for (const n of walk(rootSchema(c))) {
        for (const v of n.schema["x-kubernetes-validations"] ?? []) {
          const text = v.message ?? v.messageExpression ?? "";
          expect(text, `${c.spec.names.kind}: ${n.path}: ${v.rule}`).toMatch(/(metadata|spec)\.[a-zA-Z]+|path |methods/);
        }
      }
    }
  });

  it("write every duration field with the pattern parseDuration accepts", () => {
    const durationFields = [...crds.values()].flatMap((c) => fields(c).filter((n) => n.schema.pattern?.includes("(h|m|s)") === true));
    expect(durationFields.length).toBeGreaterThanOrEqual(9);
    for (const n of durationFields) {
      expect(n.schema.pattern).toBe(DURATION_PATTERN.source);
      expect(n.schema.maxLength).toBe(32);
    }
  });

  it("guard every duration() in CEL with the duration pattern, so that a malformed value reports only the pattern error", () => {
    const celPattern = `'${DURATION_PATTERN.source.replace(/\\/g, "\\\\")}'`;
    let seen = 0;
    for (const c of crds.values()) {
      for (const n of walk(rootSchema(c))) {
        for (const v of n.schema["x-kubernetes-validations"] ?? []) {
          for (const m of v.rule.matchAll(/duration\(([^)']+)\)/g)) {
            seen++;
            expect(v.rule, `${c.spec.names.kind}: ${n.path}`).toContain(`!${m[1] ?? ""}.matches(${celPattern})`);
          }
        }
      }
    }
    expect(seen).toBeGreaterThan(0);
  });

  it.each(EXPECTED)("give $kind the printer columns it promises, each reading a field of its schema", (e) => {
    const c = crd(e.kind);
    const columns = c.spec.versions[0]?.additionalPrinterColumns ?? [];
    expect(columns.map((col) => col.name)).toEqual(e.columns);
    for (const col of columns) {
      const nodes = resolveJsonPath(rootSchema(c), col.jsonPath);
      expect(nodes.length, `${e.kind} column ${col.name}: ${col.jsonPath}`).toBeGreaterThan(0);
      for (const node of nodes) {
        const expected = col.type === "date" ? "string" : col.type;
        expect(node.type, `${e.kind} column ${col.name}`).toBe(expected);
      }
    }
    expect(columns.at(-1)).toMatchObject({ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" });
  });

  it("read the Ready column from the Ready condition", () => {
    for (const kind of ["ApiKey", "AccessToken", "AccessPolicy"]) {
      const ready = crd(kind).spec.versions[0]?.additionalPrinterColumns?.find((col) => col.name === "Ready");
      expect(ready?.jsonPath).toBe('.status.conditions[?(@.type=="Ready")].status');
    }
  });
});

describe("the rotation policy CRDs", () => {
  it("have the same spec in both scopes", () => {
    expect(at(rootSchema(crd("ClusterRotationPolicy")), "spec")).toEqual(at(rootSchema(crd("RotationPolicy")), "spec"));
  });

  it("default to Ed25519, 5m pre-publication, a 30-day grace, 24h tokens at most 720h long, no non-expiring tokens, UTC", () => {
    const spec = at(rootSchema(crd("RotationPolicy")), "spec");
    const defaults = Object.fromEntries(Object.entries(spec.properties ?? {}).map(([k, v]) => [k, v.default]));
    expect(defaults).toEqual({
      algorithm: "EdDSA",
      schedule: undefined,
      prePublish: "5m",
      grace: "720h",
      defaultTokenLifetime: "24h",
      maxTokenLifetime: "720h",
      allowNeverExpires: false,
    });
    expect(parseDuration("720h")).toBe(30 * 24 * 3_600_000);
    expect(at(spec, "schedule.timeZone").default).toBe("UTC");
    expect(at(spec, "algorithm").enum).toEqual(["EdDSA", "ES256", "RS256"]);
    expect(spec.required).toEqual(["schedule"]);
  });

  it("have defaults that satisfy their own rules", () => {
    const spec = at(rootSchema(crd("RotationPolicy")), "spec");
    const d = (k: string): number => parseDuration(String(at(spec, k).default));
    expect(d("defaultTokenLifetime")).toBeLessThanOrEqual(d("maxTokenLifetime"));
    expect(d("prePublish")).toBeLessThan(parseDuration("1h"));
  });

  it("check the schedule, the minimum interval, prePublish against every, and the lifetime bounds in CEL", () => {
    const spec = at(rootSchema(crd("RotationPolicy")), "spec");
    const rules = (path: string): string[] => (at(spec, path)["x-kubernetes-validations"] ?? []).map((v) => v.rule);
    expect(rules("schedule")).toEqual(["has(self.every) != has(self.cron)"]);
    expect(rules("schedule.every").join()).toContain("duration(self) >= duration('1h')");
    expect(rules("").join()).toContain("duration(self.prePublish) < duration(self.schedule.every)");
    expect(rules("").join()).toContain("duration(self.defaultTokenLifetime) <= duration(self.maxTokenLifetime)");
  });
});

describe("the ApiKey CRD", () => {
  const schema = rootSchema(crd("ApiKey"));

  it("defaults the rotation policy to the ClusterRotationPolicy default, and the whole spec", () => {
    expect(at(schema, "spec").default).toEqual({});
    expect(at(schema, "spec.rotationPolicyRef").default).toEqual({});
    expect(at(schema, "spec.rotationPolicyRef.kind")).toMatchObject({ enum: ["RotationPolicy", "ClusterRotationPolicy"], default: "ClusterRotationPolicy" });
    expect(at(schema, "spec.rotationPolicyRef.name").default).toBe("default");
    expect(at(schema, "spec.suspended").default).toBe(false);
  });

  it("takes up to 32 AccessPolicy names as a set", () => {
    expect(at(schema, "spec.policies")).toMatchObject({ maxItems: 32, "x-kubernetes-list-type": "set" });
  });

  it("keeps the request fields to 63 characters and revokeIssuedBefore a date-time that only moves later", () => {
    for (const f of ["rotate", "dropDeposed", "revokeAll"]) expect(at(schema, `spec.${f}`).maxLength).toBe(63);
    const cutoff = at(schema, "spec.revokeIssuedBefore");
    expect(cutoff.format).toBe("date-time");
    expect(cutoff["x-kubernetes-validations"]?.map((v) => v.rule)).toEqual(["self >= oldSelf"]);
    expect(at(schema, "spec")["x-kubernetes-validations"]?.map((v) => v.rule)).toEqual([
      "!has(oldSelf.revokeIssuedBefore) || has(self.revokeIssuedBefore)",
    ]);
  });

  it("holds at most three keys in status, keyed by kid, in the token module's states and algorithms", () => {
    const keys = at(schema, "status.keys");
    expect(keys).toMatchObject({ maxItems: 3, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["kid"] });
    expect(at(schema, "status.keys[].state").enum).toEqual([...KEY_STATES]);
    expect(at(schema, "status.keys[].algorithm").enum).toEqual([...ALGORITHMS]);
    expect(at(rootSchema(crd("RotationPolicy")), "spec.algorithm").enum).toEqual([...ALGORITHMS]);
    expect(Object.keys(at(schema, "status").properties ?? {})).toEqual([
      "observedGeneration",
      "keys",
      "activeKid",
      "secretName",
      "lastRotationTime",
      "nextRotationTime",
      "observedRequests",
      "bundleGeneration",
      "lastActivation",
      "revocation",
      "conditions",
    ]);
  });
});

describe("the AccessToken CRD", () => {
  const schema = rootSchema(crd("AccessToken"));

  it("requires apiKeyName and makes it immutable", () => {
    expect(at(schema, "spec").required).toEqual(["apiKeyName"]);
    expect(at(schema, "spec.apiKeyName")["x-kubernetes-validations"]?.map((v) => v.rule)).toEqual(["self == oldSelf"]);
  });

  it("makes revoked one-way, with a message that says so", () => {
    const revoked = at(schema, "spec.revoked");
    expect(revoked.default).toBe(false);
    expect(revoked["x-kubernetes-validations"]).toEqual([
      { rule: "!oldSelf || self", message: expect.stringContaining("irreversible") as unknown },
    ]);
  });

  it("excludes lifetime with neverExpires and bounds renewBefore by lifetime", () => {
    const rules = (at(schema, "spec")["x-kubernetes-validations"] ?? []).map((v) => v.rule).join("\n");
    expect(rules).toContain("!(has(self.lifetime) && has(self.neverExpires) && self.neverExpires)");
    expect(rules).toContain("duration(self.renewBefore) < duration(self.lifetime)");
  });

  it("remembers at most 16 issued tokens, keyed by jti", () => {
    expect(at(schema, "status.issued")).toMatchObject({ maxItems: 16, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["jti"] });
    expect(Object.keys(at(schema, "status.issued[]").properties ?? {})).toEqual(["jti", "kid", "expiresAt"]);
  });
});

describe("the AccessPolicy CRD", () => {
  const schema = rootSchema(crd("AccessPolicy"));

  it("takes 1 to 64 rules of 1 to 10 methods and 1 to 32 paths", () => {
    expect(at(schema, "spec.rules")).toMatchObject({ minItems: 1, maxItems: 64 });
    expect(at(schema, "spec.rules[].methods")).toMatchObject({ minItems: 1, maxItems: 10 });
    expect(at(schema, "spec.rules[].methods[]").enum).toEqual(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"]);
    expect(at(schema, "spec.rules[].paths")).toMatchObject({ minItems: 1, maxItems: 32 });
    expect(at(schema, "spec.rules[].paths[]").maxLength).toBe(256);
    expect(at(schema, "spec.rules[].effect")).toMatchObject({ enum: ["Allow", "Deny"], default: "Allow" });
  });
});

describe("the kustomizations", () => {
  it("list every CRD file, through crds/Kustomization", () => {
    const crdKustomization = readYaml(join(CRD_DIR, "Kustomization")) as { resources: string[] };
    expect([...crdKustomization.resources].sort()).toEqual(crdFiles());
    const config = readYaml(join(REPO, "config", "crd", "kustomization.yaml")) as { resources: string[] };
    expect(config.resources).toEqual(["../../crds"]);
  });

  it("keep crds/*.yaml CustomResourceDefinitions only", () => {
    for (const file of crdFiles()) expect(readFileSync(join(CRD_DIR, file), "utf8")).toContain("kind: CustomResourceDefinition");
  });
});
