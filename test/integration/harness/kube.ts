// A small typed REST client for integration tests: discovery-backed resource
// paths, create / server-side apply / merge patch / status writes / delete,
// server-side Table output, and polling with a deadline.
import type { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import { KubeApiError, kubeJson, kubeRequest, loadKubeConfig } from "../../../src/controlplane/index.ts";
import type { KubeRequest, KubeResponse } from "../../../src/controlplane/index.ts";
import "./provided.ts";

export { KubeApiError };

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** A keyward.dev/v1alpha1 object of `kind`, named `name` in `namespace`, with `spec`: what tests create. */
export function keywardObject(kind: string, namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "keyward.dev/v1alpha1", kind, metadata: { name, namespace }, spec };
}

/** What names one object (or, without a name, a collection). */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string | undefined;
  name?: string | undefined;
}

export interface Table {
  kind: "Table";
  columnDefinitions: { name: string; type: string; format: string; description: string; priority: number }[];
  rows: { cells: unknown[]; object?: unknown }[];
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

export interface WriteOptions {
  /** Write the named subresource (e.g. "status") instead of the object. */
  subresource?: string;
  fieldManager?: string;
  dryRun?: boolean;
  /** How the server treats unknown or duplicate fields (default Strict: they are errors, not silently dropped). */
  fieldValidation?: "Strict" | "Warn" | "Ignore";
}

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

const FIELD_MANAGER = "keyward-integration-test";

export class Kube {
  readonly kc: KubeConfig;
  readonly kubeconfigPath: string;
  private readonly discovery = new Map<string, Promise<ApiResource[]>>();

  constructor(kubeconfigPath: string) {
    this.kubeconfigPath = kubeconfigPath;
    this.kc = loadKubeConfig(kubeconfigPath);
  }

  /** The cluster the integration run provides (see global-setup.ts). */
  static fromTestRun(): Kube {
    return new Kube(inject("kubeconfigPath"));
  }

  request(req: KubeRequest): Promise<KubeResponse> {
    return kubeRequest(this.kc, req);
  }

  json<T>(req: KubeRequest): Promise<T> {
    return kubeJson<T>(this.kc, req);
  }

  private resources(apiVersion: string): Promise<ApiResource[]> {
    let cached = this.discovery.get(apiVersion);
    if (cached === undefined) {
      const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      cached = this.json<{ resources: ApiResource[] }>({ method: "GET", path: base }).then((list) => list.resources);
      cached.catch(() => this.discovery.delete(apiVersion));
      this.discovery.set(apiVersion, cached);
    }
    return cached;
  }

  /** The URL path of an object, its collection, or one of its subresources. */
  async path(ref: ObjectRef, subresource?: string): Promise<string> {
    const resource = (await this.resources(ref.apiVersion)).find((r) => r.kind === ref.kind && !r.name.includes("/"));
    if (resource === undefined) throw new Error(`the server does not serve kind ${ref.kind} in ${ref.apiVersion}`);
    const base = ref.apiVersion.includes("/") ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    let path = base;
    if (resource.namespaced && ref.namespace !== undefined) path += `/namespaces/${encodeURIComponent(ref.namespace)}`;
    path += `/${resource.name}`;
    if (ref.name !== undefined) path += `/${encodeURIComponent(ref.name)}`;
    if (subresource !== undefined) path += `/${subresource}`;
    return path;
  }

  /** The reference of an object, or the reference itself. */
  static ref(target: ObjectRef | KubeObject): ObjectRef {
    if ("metadata" in target) {
      return { apiVersion: target.apiVersion, kind: target.kind, namespace: target.metadata.namespace, name: target.metadata.name };
    }
    return target;
  }

  private static query(opts: WriteOptions, extra: Record<string, string> = {}): string {
    const params = new URLSearchParams({
      fieldManager: opts.fieldManager ?? FIELD_MANAGER,
      fieldValidation: opts.fieldValidation ?? "Strict",
      ...extra,
    });
    if (opts.dryRun === true) params.set("dryRun", "All");
    return `?${params.toString()}`;
  }

  async get<T extends KubeObject = KubeObject>(target: ObjectRef | KubeObject): Promise<T> {
    return this.json<T>({ method: "GET", path: await this.path(Kube.ref(target)) });
  }

  /** The object, or undefined when the server answers 404. */
  async find<T extends KubeObject = KubeObject>(target: ObjectRef | KubeObject): Promise<T | undefined> {
    try {
      return await this.get<T>(target);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async list<T extends KubeObject = KubeObject>(ref: Omit<ObjectRef, "name">, labelSelector?: string): Promise<T[]> {
    const query = labelSelector === undefined ? "" : `?labelSelector=${encodeURIComponent(labelSelector)}`;
    const list = await this.json<{ items: T[] }>({ method: "GET", path: (await this.path(ref)) + query });
    return list.items;
  }

  async create<T extends KubeObject = KubeObject>(obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    const path = await this.path({ ...Kube.ref(obj), name: undefined });
    return this.json<T>({ method: "POST", path: path + Kube.query(opts), body: obj });
  }

  /** Server-side apply (force: this test owns the fields it sends). */
  async apply<T extends KubeObject = KubeObject>(obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    const path = await this.path(Kube.ref(obj), opts.subresource);
    return this.json<T>({
      method: "PATCH",
      path: path + Kube.query(opts, { force: "true" }),
      body: obj,
      contentType: "application/apply-patch+yaml",
    });
  }

  /** JSON merge patch (RFC 7386) of the object or a subresource. */
  async mergePatch<T extends KubeObject = KubeObject>(target: ObjectRef | KubeObject, patch: unknown, opts: WriteOptions = {}): Promise<T> {
    const path = await this.path(Kube.ref(target), opts.subresource);
    return this.json<T>({
      method: "PATCH",
      path: path + Kube.query(opts),
      body: patch,
      contentType: "application/merge-patch+json",
    });
  }

  /** PUT of a whole object or subresource (optimistic concurrency on metadata.resourceVersion). */
  async replace<T extends KubeObject = KubeObject>(obj: KubeObject, opts: WriteOptions = {}): Promise<T> {
    const path = await this.path(Kube.ref(obj), opts.subresource);
    return this.json<T>({ method: "PUT", path: path + Kube.query(opts), body: obj });
  }

  /** Deletes; a missing object is not an error. */
  async delete(target: ObjectRef | KubeObject, propagationPolicy?: "Background" | "Foreground" | "Orphan"): Promise<void> {
    const body = propagationPolicy === undefined ? undefined : { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy };
    const path = await this.path(Kube.ref(target));
    const res = await this.request({ method: "DELETE", path, body });
    if (res.status !== 404 && (res.status < 200 || res.status >= 300)) throw new KubeApiError({ method: "DELETE", path }, res);
  }

  /** The server-side Table (what `kubectl get` prints) for an object or a collection. */
  async table(target: ObjectRef | KubeObject): Promise<Table> {
    return this.json<Table>({
      method: "GET",
      path: await this.path(Kube.ref(target)),
      accept: "application/json;as=Table;g=meta.k8s.io;v=v1",
    });
  }

  /**
   * The error the server answers to `write`, which must fail. Fails the test
   * (by throwing) when the write succeeds.
   */
  async rejection(write: () => Promise<unknown>): Promise<KubeApiError> {
    let result: unknown;
    try {
      result = await write();
    } catch (error) {
      if (error instanceof KubeApiError) return error;
      throw error;
    }
    throw new Error(`expected the API server to refuse the write, but it accepted it: ${JSON.stringify(result).slice(0, 500)}`);
  }
}

/**
 * Polls `probe` until it returns something other than undefined or false, or the
 * deadline passes (then throws naming `what` and the last error).
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, opts: PollOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const suffix = lastError === undefined ? "" : `; last error: ${(lastError as Error).message}`;
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${suffix}`);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 200));
  }
}
