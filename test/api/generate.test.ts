import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CRD_DIR, GenerateError, OUTPUT_FILE, REPO_ROOT, checkGenerated, generate, readCrds, type Crd } from "../../hack/generate-types.ts";
import { API_VERSION, GROUP, KINDS, RESOURCES, VERSION, type AccessPolicy, type ApiKey, type ClusterRotationPolicySpec, type RotationPolicySpec } from "../../src/api/index.ts";

function tinyCrd(schema: Record<string, unknown>, kind = "Widget"): { file: string; crd: Crd } {
  return {
    file: `${kind.toLowerCase()}s.example.yaml`,
    crd: {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `${kind.toLowerCase()}s.example.dev` },
      spec: {
        group: "example.dev",
        scope: "Namespaced",
        names: { kind, plural: `${kind.toLowerCase()}s` },
        versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema } }],
      },
    },
  };
}

describe("src/api/types.generated.ts", () => {
  it("is what hack/generate-types.ts makes of crds/*.yaml (run npm run generate when this fails)", () => {
    expect(readFileSync(OUTPUT_FILE, "utf8")).toBe(generate(readCrds()));
  });

  it("passes npm run generate:check", () => {
    expect(checkGenerated()).toBeUndefined();
    const out = execFileSync(process.execPath, ["hack/generate-types.ts", "--check"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(out).toContain("is up to date");
  });

  it("would fail generate:check with a message saying what to run when the file is stale", () => {
    const dir = mkdtempSync(join(tmpdir(), "keyward-generate-"));
    try {
      const stale = join(dir, "types.generated.ts");
      writeFileSync(stale, readFileSync(OUTPUT_FILE, "utf8").replace("export const GROUP", "export const GRUOP"));
      expect(checkGenerated(stale, CRD_DIR)).toMatch(/is out of date with .*crds\/\*\.yaml \(first difference at line \d+\): run `npm run generate`/);
      expect(checkGenerated(join(dir, "missing.ts"), CRD_DIR)).toMatch(/is missing: run `npm run generate`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("starts with the generated — do not edit header", () => {
    expect(readFileSync(OUTPUT_FILE, "utf8").split("\n")[0]).toBe("// generated — do not edit.");
  });

  it("names the group, version, kinds and plurals of the CRDs", () => {
    expect(GROUP).toBe("keyward.dev");
    expect(VERSION).toBe("v1alpha1");
    expect(API_VERSION).toBe("keyward.dev/v1alpha1");
    const crds = readCrds().map((c) => c.crd);
    expect([...KINDS].sort()).toEqual(crds.map((c) => c.spec.names.kind).sort());
    for (const c of crds) {
      const info = RESOURCES[c.spec.names.kind as keyof typeof RESOURCES];
      expect(info.plural).toBe(c.spec.names.plural);
      expect(info.namespaced).toBe(c.spec.scope === "Namespaced");
      expect(info.shortNames).toEqual(c.spec.names.shortNames);
    }
  });

  it("types keyward objects as the API returns them", () => {
    const key: ApiKey = {
      apiVersion: API_VERSION,
      kind: "ApiKey",
      metadata: { name: "reporting", namespace: "acme" },
      spec: { rotationPolicyRef: { kind: "ClusterRotationPolicy", name: "default" }, policies: ["datagrid-read"] },
      status: { keys: [{ kid: "k1", algorithm: "EdDSA", state: "active", createdAt: "2026-11-29T12:00:00Z" }], activeKid: "k1" },
    };
    const policy: AccessPolicy = {
      apiVersion: API_VERSION,
      kind: "AccessPolicy",
      metadata: { name: "datagrid-read" },
      spec: { rules: [{ effect: "Allow", methods: ["GET", "HEAD"], paths: ["/api/v0/**"] }] },
    };
    const spec: RotationPolicySpec = { schedule: { every: "720h" } };
    const clusterSpec: ClusterRotationPolicySpec = spec;
    expect([key.status?.keys?.[0]?.state, policy.spec.rules[0]?.effect, clusterSpec.schedule.every]).toEqual(["active", "Allow", "720h"]);
  });
});

describe("the type generator", () => {
  const schema = {
    type: "object",
    description: "A widget.",
    properties: {
      spec: {
        type: "object",
        description: "What the widget should be.",
        required: ["size"],
        properties: {
          size: { type: "integer", description: "How big." },
          color: { type: "string", description: "Its color. Never */ in a comment.", enum: ["red", "blue"], default: "red" },
          parts: {
            type: "array",
            description: "Its parts.",
            maxItems: 3,
            items: { type: "object", description: "A part.", required: ["name"], properties: { name: { type: "string", description: "The part's name." } } },
          },
          labels: { type: "object", description: "Free labels.", additionalProperties: { type: "string" } },
        },
      },
    },
  };

  it("writes an interface per object with JSDoc, literal unions for enums, defaults, and ? where not required", () => {
    const out = generate([tinyCrd(schema)]);
    expect(out).toContain("export interface Widget {");
    expect(out).toContain("  spec?: WidgetSpec;");
    expect(out).toContain("  size: number;");
    expect(out).toContain('  color?: "red" | "blue";');
    expect(out).toContain("@default \"red\"");
    expect(out).toContain("Never *\\/ in a comment.");
    expect(out).toContain("  parts?: WidgetPart[];");
    expect(out).toContain("export interface WidgetPart {\n  /** The part's name. */\n  name: string;\n}");
    expect(out).toContain("  labels?: Record<string, string>;");
    expect(out).toContain('export const WIDGET_PLURAL = "widgets";');
    expect(out).toContain('export const GROUP = "example.dev";');
  });

  it("produces the same output on every run and for any file order", () => {
    const a = tinyCrd(schema, "Widget");
    const b = tinyCrd(schema, "Gadget");
    expect(generate([a, b])).toBe(generate([b, a]));
  });

  it("emits a shape shared by two kinds once, and aliases the second name", () => {
    const out = generate([tinyCrd(schema, "Widget"), tinyCrd(schema, "Gadget")]);
    expect(out).toContain("export type WidgetSpec = GadgetSpec;");
    expect(out.match(/export interface \w+Part /g)).toEqual(["export interface GadgetPart "]);
  });

  it("refuses a required property the schema does not declare, naming the file and field", () => {
    const bad = { type: "object", properties: { spec: { type: "object", required: ["size"], properties: {} } } };
    expect(() => generate([tinyCrd(bad)])).toThrow(GenerateError);
    expect(() => generate([tinyCrd(bad)])).toThrow(/widgets\.example\.yaml: spec: required property size/);
  });

  it("refuses CRDs of different groups", () => {
    const other = tinyCrd(schema, "Gadget");
    other.crd.spec.group = "other.dev";
    expect(() => generate([tinyCrd(schema), other])).toThrow(/one group/);
  });
});
