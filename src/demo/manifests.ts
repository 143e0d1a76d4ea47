// The objects the demo applies: a kustomization's `resources` (files and directories holding
// a kustomization, followed in order), moved to the demo's namespace. Only plain resource
// lists are understood; a kustomization that transforms anything is refused with a clear
// error rather than applied differently from `kubectl apply -k`.

import { existsSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface LoadedManifest {
  object: Manifest;
  /** The file it came from, relative to the kustomization read. */
  file: string;
}

/** Kinds applied first come first: namespaces, then policies, then keys, then tokens. */
const APPLY_ORDER = ["Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRotationPolicy", "RotationPolicy", "AccessPolicy", "ApiKey", "AccessToken"];

const KUSTOMIZATION_FIELDS = new Set(["apiVersion", "kind", "resources"]);

function kustomizationFile(dir: string): string | undefined {
  for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
    const file = join(dir, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

function readDocuments(file: string, root: string): LoadedManifest[] {
  const out: LoadedManifest[] = [];
  const shown = relative(root, file);
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) throw new Error(`${shown}: not valid YAML: ${doc.errors[0]?.message ?? ""}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const o = value as Partial<Manifest>;
    if (typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string") {
      throw new Error(`${shown}: every document needs apiVersion, kind and metadata.name`);
    }
    out.push({ object: o as Manifest, file: shown });
  }
  return out;
}

function collect(dir: string, root: string, seen: Set<string>): LoadedManifest[] {
  const file = kustomizationFile(dir);
  if (file === undefined) throw new Error(`${relative(root, dir) || dir}: no kustomization.yaml`);
  if (seen.has(file)) throw new Error(`${relative(root, file)}: included twice (a cycle of resources)`);
  seen.add(file);
  const parsed = parseAllDocuments(readFileSync(file, "utf8"))[0];
  if (parsed !== undefined && parsed.errors.length > 0) throw new Error(`${relative(root, file)}: not valid YAML: ${parsed.errors[0]?.message ?? ""}`);
  const k = (parsed?.toJS() ?? {}) as Record<string, unknown>;
  for (const field of Object.keys(k)) {
    if (!KUSTOMIZATION_FIELDS.has(field)) {
      throw new Error(`${relative(root, file)}: "${field}" is not supported here (only resources); render it with kubectl apply -k instead`);
    }
  }
  const resources = k.resources ?? [];
  if (!Array.isArray(resources) || !resources.every((r): r is string => typeof r === "string")) {
    throw new Error(`${relative(root, file)}: resources must be a list of paths`);
  }
  const out: LoadedManifest[] = [];
  for (const entry of resources) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new Error(`${relative(root, file)}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) out.push(...collect(path, root, seen));
    else out.push(...readDocuments(path, root));
  }
  return out;
}

/**
 * Every object of the kustomization in `dir`, in apply order (namespaces, rotation policies,
 * access policies, keys, tokens; file order within a kind). `root` is what file names are
 * shown relative to (default the parent of `dir`).
 */
export function readKustomization(dir: string, root = resolve(dir, "..")): LoadedManifest[] {
  const all = collect(resolve(dir), resolve(root), new Set());
  const rank = (m: LoadedManifest): number => {
    const i = APPLY_ORDER.indexOf(m.object.kind);
    return i === -1 ? APPLY_ORDER.length : i;
  };
  return all.map((m, i) => ({ m, i })).sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i).map(({ m }) => m);
}

/** The objects of the YAML files `files` of `dir`, in order. */
export function readManifestFiles(dir: string, files: readonly string[]): Manifest[] {
  return files.flatMap((f) => readDocuments(join(dir, f), dir).map((m) => m.object));
}

/** Whether Kubernetes scopes this kind to a namespace (the kinds the demo applies). */
export function isClusterScoped(kind: string): boolean {
  return kind === "Namespace" || kind === "ClusterRotationPolicy" || kind === "ClusterRole" || kind === "ClusterRoleBinding" || kind === "CustomResourceDefinition";
}

/**
 * The manifests moved to `namespace`: the one Namespace object renamed, every namespaced
 * object's metadata.namespace set. Cluster-scoped objects are unchanged. Copies; the input is
 * not modified.
 */
export function retarget(manifests: readonly Manifest[], namespace: string): Manifest[] {
  const namespaces = manifests.filter((m) => m.kind === "Namespace");
  if (namespaces.length > 1) {
    throw new Error(`the manifests create ${namespaces.length} namespaces (${namespaces.map((m) => m.metadata.name).join(", ")}); the demo runs one tenant`);
  }
  return manifests.map((m) => {
    const copy = structuredClone(m);
    if (m.kind === "Namespace") copy.metadata.name = namespace;
    else if (!isClusterScoped(m.kind)) copy.metadata.namespace = namespace;
    return copy;
  });
}
