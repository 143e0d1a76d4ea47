// Reading the CRD files and walking their schemas, for the checks in test/crds.

import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const CRD_DIR = join(REPO, "crds");
export const SAMPLES_DIR = join(REPO, "config", "samples");

export interface Validation {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
}

export interface Schema {
  type?: string;
  description?: string;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  default?: unknown;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  "x-kubernetes-validations"?: Validation[];
  "x-kubernetes-list-type"?: string;
  "x-kubernetes-list-map-keys"?: string[];
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: { status?: Record<string, never> };
  additionalPrinterColumns?: PrinterColumn[];
  schema: { openAPIV3Schema: Schema };
}

export interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: CrdVersion[];
  };
}

export function crdFiles(): string[] {
  return readdirSync(CRD_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
}

export function readYamlDocuments(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, "utf8")).map((d) => {
    if (d.errors.length > 0) throw new Error(`${path}: ${d.errors.map((e) => e.message).join("; ")}`);
    return d.toJS() as unknown;
  });
}

export function readYaml(path: string): unknown {
  return parse(readFileSync(path, "utf8"));
}

export function loadCrds(): Map<string, Crd> {
  const byKind = new Map<string, Crd>();
  for (const file of crdFiles()) {
    const crd = readYaml(join(CRD_DIR, file)) as Crd;
    byKind.set(crd.spec.names.kind, crd);
  }
  return byKind;
}

export function rootSchema(crd: Crd): Schema {
  const v = crd.spec.versions[0];
  if (v === undefined) throw new Error(`${crd.metadata.name}: no version`);
  return v.schema.openAPIV3Schema;
}

/** Every schema node below (and including) `schema`, with its path such as spec.rules[].paths[]. */
export function walk(schema: Schema, path = ""): { path: string; schema: Schema }[] {
  const out = [{ path, schema }];
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    out.push(...walk(child, path === "" ? key : `${path}.${key}`));
  }
  if (schema.items !== undefined) out.push(...walk(schema.items, `${path}[]`));
  if (typeof schema.additionalProperties === "object") out.push(...walk(schema.additionalProperties, `${path}{}`));
  return out;
}

/**
 * Resolves a printer column's JSONPath (.a.b, .a[?(...)].b, .a['x','y']) to the schema nodes it
 * reads; an empty result means the path names a field the schema does not have.
 */
export function resolveJsonPath(root: Schema, jsonPath: string): Schema[] {
  if (!jsonPath.startsWith(".")) return [];
  const tokens = jsonPath.slice(1).match(/[^.[\]]+|\[[^\]]*\]/g) ?? [];
  let nodes: Schema[] = [root];
  for (const token of tokens) {
    const next: Schema[] = [];
    for (const node of nodes) {
      if (token.startsWith("[")) {
        const inner = token.slice(1, -1);
        if (inner.startsWith("?(") || inner === "*" || /^[0-9]+$/.test(inner)) {
          if (node.items !== undefined) next.push(node.items);
          continue;
        }
        for (const key of inner.split(",").map((k) => k.trim().replace(/^'|'$/g, ""))) {
          const child = node.properties?.[key];
          if (child !== undefined) next.push(child);
          else return [];
        }
        continue;
      }
      if (token === "metadata" && node === root) {
        next.push({ type: "object", properties: { creationTimestamp: { type: "string", format: "date-time" }, name: { type: "string" } } });
        continue;
      }
      const child = node.properties?.[token];
      if (child === undefined) return [];
      next.push(child);
    }
    nodes = next;
  }
  return nodes;
}

export interface SchemaError {
  path: string;
  message: string;
}

/**
 * Checks a value against the structural part of a schema the way the API server's OpenAPI
 * validation does: types, required, enum, pattern, formats date-time, lengths and item counts,
 * unknown fields (pruned by the server, an error here so that samples carry no dead fields).
 * CEL rules are not evaluated here; the integration suite exercises them on a real API server.
 */
export function validate(schema: Schema, value: unknown, path = ""): SchemaError[] {
  const errors: SchemaError[] = [];
  const fail = (message: string): SchemaError[] => [...errors, { path: path === "" ? "<root>" : path, message }];
  if (schema.enum !== undefined && !schema.enum.includes(value)) return fail(`must be one of ${JSON.stringify(schema.enum)}`);
  switch (schema.type) {
    case "string": {
      if (typeof value !== "string") return fail("must be a string");
      if (schema.maxLength !== undefined && value.length > schema.maxLength) return fail(`longer than ${schema.maxLength}`);
      if (schema.minLength !== undefined && value.length < schema.minLength) return fail(`shorter than ${schema.minLength}`);
      if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) return fail(`does not match ${schema.pattern}`);
      if (schema.format === "date-time" && Number.isNaN(Date.parse(value))) return fail("is not an RFC 3339 date-time");
      return errors;
    }
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) return fail("must be an integer");
      if (schema.minimum !== undefined && value < schema.minimum) return fail(`less than ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) return fail(`more than ${schema.maximum}`);
      return errors;
    case "boolean":
      return typeof value === "boolean" ? errors : fail("must be a boolean");
    case "array": {
      if (!Array.isArray(value)) return fail("must be an array");
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return fail(`more than ${schema.maxItems} items`);
      if (schema.minItems !== undefined && value.length < schema.minItems) return fail(`fewer than ${schema.minItems} items`);
      if (schema["x-kubernetes-list-type"] === "set" && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) {
        return fail("has duplicate items in a set");
      }
      value.forEach((item, i) => {
        if (schema.items !== undefined) errors.push(...validate(schema.items, item, `${path}[${i}]`));
      });
      return errors;
    }
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("must be an object");
      const record = value as Record<string, unknown>;
      for (const r of schema.required ?? []) {
        if (!(r in record)) errors.push({ path: path === "" ? r : `${path}.${r}`, message: "is required" });
      }
      if (schema.properties === undefined) return errors;
      for (const [key, v] of Object.entries(record)) {
        const child = schema.properties[key];
        const childPath = path === "" ? key : `${path}.${key}`;
        if (child === undefined) errors.push({ path: childPath, message: "is not a field of the schema" });
        else if (!(path === "" && key === "metadata")) errors.push(...validate(child, v, childPath));
      }
      return errors;
    }
    default:
      return fail(`schema type ${String(schema.type)} is not handled`);
  }
}
