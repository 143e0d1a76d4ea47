// Generates src/api/types.generated.ts from the CustomResourceDefinitions in crds/*.yaml.
//
//   node hack/generate-types.ts           write the file
//   node hack/generate-types.ts --check   exit 1 when the file on disk differs from what
//                                         the CRDs generate (CI runs this)
//
// The CRDs are the one source of truth for the API; this file only translates their
// openAPIV3Schema into TypeScript: an interface per object (named after the kind and the
// path to it), schema descriptions as JSDoc, enums as string literal unions, a property
// optional unless the schema lists it as required.

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

export const REPO_ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const CRD_DIR = join(REPO_ROOT, "crds");
export const OUTPUT_FILE = join(REPO_ROOT, "src", "api", "types.generated.ts");

/** The subset of a structural schema the generator reads. */
export interface Schema {
  type?: string;
  description?: string;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
}

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: Schema };
}

export interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: "Namespaced" | "Cluster";
    names: { kind: string; listKind?: string; plural: string; singular?: string; shortNames?: string[]; categories?: string[] };
    versions: CrdVersion[];
  };
}

/** A CRD file could not be turned into types; the message names the file and the field. */
export class GenerateError extends Error {
  readonly code = "ERR_GENERATE";
  constructor(message: string) {
    super(message);
    this.name = "GenerateError";
  }
}

/** Reads and parses every crds/*.yaml, sorted by file name. */
export function readCrds(dir: string = CRD_DIR): { file: string; crd: Crd }[] {
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml") || f.endsWith(".yml")).sort();
  return files.map((file) => {
    const doc: unknown = parse(readFileSync(join(dir, file), "utf8"));
    if (!isRecord(doc) || doc.kind !== "CustomResourceDefinition") {
      throw new GenerateError(`${file}: not a CustomResourceDefinition`);
    }
    return { file, crd: doc as unknown as Crd };
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function pascal(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function singular(s: string): string {
  if (s.endsWith("ies")) return s.slice(0, -3) + "y";
  if (s.endsWith("s") && !s.endsWith("ss")) return s.slice(0, -1);
  return s;
}

function constName(kind: string): string {
  return kind.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function jsdoc(lines: string[], indent: string): string {
  const text = lines
    .join("\n")
    .replace(/\*\//g, "*\\/")
    .split("\n")
    .map((l) => l.trimEnd());
  if (text.length === 1) return `${indent}/** ${text[0] ?? ""} */\n`;
  return `${indent}/**\n${text.map((l) => (l === "" ? `${indent} *` : `${indent} * ${l}`)).join("\n")}\n${indent} */\n`;
}

function docLines(schema: Schema): string[] {
  const lines: string[] = [];
  if (schema.description !== undefined) lines.push(...wrap(schema.description.trim(), 96));
  if (schema.format !== undefined && schema.type === "string") lines.push(`Format: ${schema.format}.`);
  if (schema.default !== undefined) lines.push(`@default ${JSON.stringify(schema.default)}`);
  return lines;
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(/\s+/).filter((w) => w !== "")) {
      if (line !== "" && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else {
        line = line === "" ? word : `${line} ${word}`;
      }
    }
    out.push(line);
  }
  return out;
}

function propertyKey(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** Collects the interfaces of one run; identical shapes are emitted once and aliased. */
class Emitter {
  private readonly blocks: string[] = [];
  private readonly nameByBody = new Map<string, string>();
  private readonly bodyByName = new Map<string, string>();

  objectType(name: string, schema: Schema, where: string): string {
    const props = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    for (const r of required) {
      if (!(r in props)) throw new GenerateError(`${where}: required property ${r} is not declared`);
    }
    let body = "";
    for (const [key, prop] of Object.entries(props)) {
      const type = this.typeOf(this.childName(name, key, prop), prop, `${where}.${key}`);
      const lines = docLines(prop);
      if (lines.length > 0) body += jsdoc(lines, "  ");
      body += `  ${propertyKey(key)}${required.has(key) ? "" : "?"}: ${type};\n`;
    }
    const shape = `{\n${body}}`;
    const sameName = this.bodyByName.get(name);
    if (sameName !== undefined) {
      if (sameName === shape) return name;
      throw new GenerateError(`${where}: the schema of ${name} differs from another CRD's; keep the shared shapes identical`);
    }
    this.bodyByName.set(name, shape);
    const doc = schema.description !== undefined ? jsdoc(wrap(schema.description.trim(), 96), "") : "";
    const existing = this.nameByBody.get(shape);
    if (existing !== undefined) {
      // Same shape under another name: alias it, and let the parent refer to the first
      // name so that identical parents collapse into one interface too.
      this.blocks.push(`${doc}export type ${name} = ${existing};\n`);
      return existing;
    }
    this.nameByBody.set(shape, name);
    this.blocks.push(`${doc}export interface ${name} ${shape}\n`);
    return name;
  }

  private childName(parent: string, key: string, prop: Schema): string {
    if (prop.type === "array" && key === "conditions") return "Condition";
    const base = parent.endsWith("Spec") ? parent.slice(0, -"Spec".length) : parent;
    return base + pascal(prop.type === "array" ? singular(key) : key);
  }

  typeOf(name: string, schema: Schema, where: string): string {
    if (schema["x-kubernetes-int-or-string"] === true) return "number | string";
    if (schema["x-kubernetes-preserve-unknown-fields"] === true && schema.properties === undefined) return "unknown";
    if (schema.enum !== undefined) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    switch (schema.type) {
      case "string":
        return "string";
      case "integer":
      case "number":
        return "number";
      case "boolean":
        return "boolean";
      case "array": {
        if (schema.items === undefined) throw new GenerateError(`${where}: an array needs items`);
        const inner = this.typeOf(name, schema.items, `${where}[]`);
        return inner.includes("|") ? `(${inner})[]` : `${inner}[]`;
      }
      case "object": {
        if (schema.properties !== undefined) return this.objectType(name, schema, where);
        if (isRecord(schema.additionalProperties)) {
          return `Record<string, ${this.typeOf(name, schema.additionalProperties, `${where}{}`)}>`;
        }
        return "Record<string, unknown>";
      }
      default:
        throw new GenerateError(`${where}: unsupported schema type ${String(schema.type)}`);
    }
  }

  render(): string {
    return this.blocks.join("\n");
  }
}

const HEADER = `// generated — do not edit.
// Generated by hack/generate-types.ts from crds/*.yaml; run \`npm run generate\` after changing a CRD.
// \`npm run generate:check\` (run in CI) fails when this file is stale.
`;

const META_TYPES = `/** The object metadata fields keyward reads and writes (a subset of metav1.ObjectMeta). */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  /** Format: date-time. */
  creationTimestamp?: string;
  /** Format: date-time. */
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

/** metav1.OwnerReference. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** metav1.ListMeta. */
export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}
`;

/** Returns the content of src/api/types.generated.ts for the given CRDs. */
export function generate(crds: { file: string; crd: Crd }[]): string {
  if (crds.length === 0) throw new GenerateError("no CustomResourceDefinition found");
  const groups = new Set(crds.map((c) => c.crd.spec.group));
  if (groups.size !== 1) throw new GenerateError(`all CRDs must share one group, found ${[...groups].join(", ")}`);
  const group = crds[0]?.crd.spec.group ?? "";
  // Sorted by kind, a Cluster* kind right after its namespaced counterpart, whose types it reuses.
  const sortKey = (c: { crd: Crd }): string => {
    const kind = c.crd.spec.names.kind;
    return kind.startsWith("Cluster") ? `${kind.slice("Cluster".length)}\u0001` : kind;
  };
  const sorted = [...crds].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));

  let version: string | undefined;
  const emitter = new Emitter();
  const kindBlocks: string[] = [];
  const resources: string[] = [];
  const constants: string[] = [];

  for (const { file, crd } of sorted) {
    const { kind, plural } = crd.spec.names;
    const listKind = crd.spec.names.listKind ?? `${kind}List`;
    const storage = crd.spec.versions.filter((v) => v.storage);
    const v = storage[0];
    if (storage.length !== 1 || v === undefined) throw new GenerateError(`${file}: exactly one version must be the storage version`);
    if (version !== undefined && version !== v.name) throw new GenerateError(`${file}: version ${v.name} differs from ${version}`);
    version = v.name;
    const root = v.schema?.openAPIV3Schema;
    if (root === undefined) throw new GenerateError(`${file}: spec.versions[${v.name}].schema.openAPIV3Schema is missing`);
    const props = root.properties ?? {};
    const required = new Set(root.required ?? []);

    const fields: string[] = [];
    fields.push(`  apiVersion: typeof API_VERSION;\n`);
    fields.push(`  kind: ${JSON.stringify(kind)};\n`);
    fields.push(`  metadata: ObjectMeta;\n`);
    for (const part of ["spec", "status"] as const) {
      const schema = props[part];
      if (schema === undefined) continue;
      const typeName = emitter.objectType(`${kind}${pascal(part)}`, schema, `${file}: ${part}`);
      const lines = docLines(schema);
      fields.push(jsdoc(lines, "  ") + `  ${part}${required.has(part) ? "" : "?"}: ${typeName};\n`);
    }
    const doc = root.description !== undefined ? jsdoc(wrap(root.description.trim(), 96), "") : "";
    kindBlocks.push(`${doc}export interface ${kind} {\n${fields.join("")}}\n`);
    kindBlocks.push(
      `/** A list of ${kind} objects. */\nexport interface ${listKind} {\n  apiVersion: typeof API_VERSION;\n  kind: ${JSON.stringify(listKind)};\n  metadata: ListMeta;\n  items: ${kind}[];\n}\n`,
    );

    const c = constName(kind);
    constants.push(`export const ${c}_KIND = ${JSON.stringify(kind)};\nexport const ${c}_PLURAL = ${JSON.stringify(plural)};\n`);
    resources.push(
      `  ${kind}: {\n` +
        `    kind: ${JSON.stringify(kind)},\n` +
        `    listKind: ${JSON.stringify(listKind)},\n` +
        `    plural: ${JSON.stringify(plural)},\n` +
        `    singular: ${JSON.stringify(crd.spec.names.singular ?? kind.toLowerCase())},\n` +
        `    namespaced: ${String(crd.spec.scope === "Namespaced")},\n` +
        `    shortNames: ${JSON.stringify(crd.spec.names.shortNames ?? [])},\n` +
        `  },\n`,
    );
  }

  const kinds = sorted.map((c) => c.crd.spec.names.kind);
  const out =
    HEADER +
    `\n/** The API group of every keyward kind. */\nexport const GROUP = ${JSON.stringify(group)};\n` +
    `/** The served and stored version. */\nexport const VERSION = ${JSON.stringify(version)};\n` +
    `/** The apiVersion of every keyward object. */\nexport const API_VERSION = ${JSON.stringify(`${group}/${version ?? ""}`)};\n\n` +
    constants.join("") +
    `\n/** Every keyward kind. */\nexport const KINDS = [${kinds.map((k) => JSON.stringify(k)).join(", ")}] as const;\n` +
    `export type Kind = (typeof KINDS)[number];\n\n` +
    `/** The REST names of a kind. */\nexport interface ResourceInfo {\n  readonly kind: Kind;\n  readonly listKind: string;\n  readonly plural: string;\n  readonly singular: string;\n  /** False for cluster-scoped kinds. */\n  readonly namespaced: boolean;\n  readonly shortNames: readonly string[];\n}\n\n` +
    `export const RESOURCES: { readonly [K in Kind]: ResourceInfo & { readonly kind: K } } = {\n${resources.join("")}};\n\n` +
    META_TYPES +
    "\n" +
    kindBlocks.join("\n") +
    `\n/** Any keyward object. */\nexport type KeywardObject = ${kinds.join(" | ")};\n\n` +
    emitter.render();
  return out.replace(/\n{3,}/g, "\n\n").replace(/\n*$/, "\n");
}

/**
 * Compares `file` with what the CRDs in `crdDir` generate. Returns undefined when they are the
 * same, else the message to print.
 */
export function checkGenerated(file: string = OUTPUT_FILE, crdDir: string = CRD_DIR): string | undefined {
  const expected = generate(readCrds(crdDir));
  let current: string;
  try {
    current = readFileSync(file, "utf8");
  } catch {
    return `${file} is missing: run \`npm run generate\` and commit the result.`;
  }
  if (current === expected) return undefined;
  const a = current.split("\n");
  const b = expected.split("\n");
  let line = 0;
  while (line < a.length && line < b.length && a[line] === b[line]) line++;
  return `${file} is out of date with ${crdDir}/*.yaml (first difference at line ${line + 1}): run \`npm run generate\` and commit the result.`;
}

function main(argv: string[]): number {
  if (!argv.includes("--check")) {
    writeFileSync(OUTPUT_FILE, generate(readCrds()));
    console.log(`wrote ${OUTPUT_FILE}`);
    return 0;
  }
  const problem = checkGenerated();
  if (problem !== undefined) {
    console.error(problem);
    return 1;
  }
  console.log(`${OUTPUT_FILE} is up to date`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 2;
  }
}
