// Offline injection (`kubectl keyward inject -f`): the Pod templates of rendered manifests go
// through injectPod, the same function the admission webhook calls, so both produce the same
// Pod. Every Pod and workload is injected unless its Pod (template) is labelled
// keyward.dev/inject: "false"; other objects pass through unchanged.

import { InjectionError } from "./errors.ts";
import { injectPod, type InjectResult } from "./inject.ts";
import type { PodLike } from "./pod.ts";

interface Manifest {
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
  spec?: Record<string, unknown>;
  [field: string]: unknown;
}

const TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"]);

export interface ManifestResult {
  object: unknown;
  result: InjectResult | null;
}

/** One manifest, injected where it holds a Pod. Throws InjectionError naming the object. */
export function injectManifest(object: unknown, image: string): ManifestResult {
  if (object === null || typeof object !== "object" || Array.isArray(object)) return { object, result: null };
  const m = object as Manifest;
  const kind = typeof m.kind === "string" ? m.kind : "";
  const name = typeof m.metadata?.name === "string" ? m.metadata.name : "(unnamed)";
  const ns = typeof m.metadata?.namespace === "string" ? `${m.metadata.namespace}/` : "";
  const what = `${kind} ${ns}${name}`;
  if (kind === "Pod") {
    if (m.spec === undefined) throw new InjectionError("ERR_INJECT_INPUT", "spec", `${what} has no spec`);
    const result = injectPod(m as unknown as PodLike, { image, what });
    return { object: result.kind === "injected" ? { ...m, metadata: result.pod.metadata, spec: result.pod.spec } : m, result };
  }
  let path: string[];
  if (TEMPLATE_KINDS.has(kind)) path = ["spec", "template"];
  else if (kind === "CronJob") path = ["spec", "jobTemplate", "spec", "template"];
  else return { object, result: null };
  const template = dig(m, path);
  if (template === undefined || typeof template.spec !== "object" || template.spec === null) {
    throw new InjectionError("ERR_INJECT_INPUT", path.join("."), `${what} has no ${path.join(".")}.spec`);
  }
  const result = injectPod(template as unknown as PodLike, { image, what });
  if (result.kind !== "injected") return { object, result };
  return { object: replaceAt(m, path, { ...template, metadata: result.pod.metadata, spec: result.pod.spec }), result };
}

function dig(obj: Record<string, unknown>, path: readonly string[]): Record<string, unknown> | undefined {
  let cur: unknown = obj;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur !== null && typeof cur === "object" ? (cur as Record<string, unknown>) : undefined;
}

function replaceAt(obj: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return obj;
  return { ...obj, [head]: rest.length === 0 ? value : replaceAt(obj[head] as Record<string, unknown>, rest, value) };
}
