// Reads keyward's CRD manifests from crds/ so tests can follow them: the
// x-kubernetes-validations rules with their schema paths, and the printer columns.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT } from "../../../src/controlplane/index.ts";

export interface ValidationRule {
  kind: string;
  /** Schema path from the root: ".spec.rules[].methods"; "" for the root. */
  path: string;
  rule: string;
  message?: string;
  messageExpression?: string;
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
}

interface Schema {
  "x-kubernetes-validations"?: { rule: string; message?: string; messageExpression?: string }[];
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

export interface CrdFile {
  file: string;
  kind: string;
  plural: string;
  group: string;
  scope: "Namespaced" | "Cluster";
  version: string;
  apiVersion: string;
  printerColumns: PrinterColumn[];
  schema: Schema;
}

export const CRD_DIR = join(REPO_ROOT, "crds");

export function readCrdFiles(): CrdFile[] {
  return readdirSync(CRD_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => {
      const doc = parse(readFileSync(join(CRD_DIR, f), "utf8")) as {
        spec: {
          group: string;
          scope: "Namespaced" | "Cluster";
          names: { kind: string; plural: string };
          versions: { name: string; storage: boolean; additionalPrinterColumns?: PrinterColumn[]; schema: { openAPIV3Schema: Schema } }[];
        };
      };
      const version = doc.spec.versions.find((v) => v.storage) ?? doc.spec.versions[0];
      if (version === undefined) throw new Error(`${f}: no version`);
      return {
        file: f,
        kind: doc.spec.names.kind,
        plural: doc.spec.names.plural,
        group: doc.spec.group,
        scope: doc.spec.scope,
        version: version.name,
        apiVersion: `${doc.spec.group}/${version.name}`,
        printerColumns: version.additionalPrinterColumns ?? [],
        schema: version.schema.openAPIV3Schema,
      };
    });
}

export function validationRules(crd: CrdFile): ValidationRule[] {
  const out: ValidationRule[] = [];
  const walk = (schema: Schema, path: string): void => {
    for (const v of schema["x-kubernetes-validations"] ?? []) {
      out.push({ kind: crd.kind, path, rule: v.rule, message: v.message, messageExpression: v.messageExpression });
    }
    for (const [name, sub] of Object.entries(schema.properties ?? {})) walk(sub, `${path}.${name}`);
    if (schema.items) walk(schema.items, `${path}[]`);
    if (typeof schema.additionalProperties === "object") walk(schema.additionalProperties, `${path}{}`);
  };
  walk(crd.schema, "");
  return out;
}
