// A thin typed REST client for the resources keyward reads and writes, built on
// client-node's KubeConfig (authentication, TLS, proxies) and HTTP library.
//
// Why not the generated APIs: their patch calls pick the first media type of the
// operation's list, which is application/json-patch+json, so a merge patch body
// sent through them is refused (or worse, misread); they also deserialize times
// into Date objects. Here every patch names its Content-Type explicitly, and
// objects stay the JSON the server sent.

import type { KubeConfig } from "@kubernetes/client-node/dist/config.js";
import { IsomorphicFetchHttpLibrary, RequestContext, type HttpMethod } from "@kubernetes/client-node/dist/gen/http/http.js";
import type { Dispatcher } from "undici";
import {
  KubeApiError,
  KubeError,
  UnavailableError,
  errorFromResponse,
  isNotFound,
  type RequestTarget,
} from "./errors.ts";
import { timerDelay } from "./clock.ts";
import { apiVersionOf, resourceName, resourcePath, type Resource } from "./resources.ts";
import type { KubeList, KubeObject, Status, WatchEvent } from "./types.ts";
import { WriteCounter, type WriteVerb } from "./writes.ts";

/** Content types of the patch flavours the client sends. */
export const ContentTypes = {
  json: "application/json",
  mergePatch: "application/merge-patch+json",
  applyPatch: "application/apply-patch+yaml",
} as const;

export const DEFAULT_FIELD_MANAGER = "keyward";

/** How long one connection pool (undici Agent) serves the client's requests before a fresh one replaces it. */
export const DISPATCHER_TTL_MS = 5 * 60_000;

export interface ObjectRef {
  name: string;
  namespace?: string | undefined;
}

export interface KubeClientOptions {
  kubeConfig: KubeConfig;
  /** fieldManager of every write; server-side apply needs one. Default "keyward". */
  fieldManager?: string;
  /** Per-request timeout of non-watch calls. Default 30 s. */
  requestTimeoutMs?: number;
  /** Where writes are counted. Default: a counter of this client's own. */
  writes?: WriteCounter;
  userAgent?: string;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
}

export interface ListOptions extends CallOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit?: number | undefined;
  continue?: string | undefined;
  resourceVersion?: string | undefined;
}

export interface WriteOptions extends CallOptions {
  fieldManager?: string | undefined;
  dryRun?: boolean | undefined;
}

export interface PatchOptions extends WriteOptions {
  /**
   * Adds metadata.resourceVersion to the patch, so the server refuses it with a
   * ConflictError when the object changed since it was read.
   */
  resourceVersion?: string | undefined;
}

export interface ApplyOptions extends WriteOptions {
  /** Take ownership of fields another manager holds. Default true (a controller owns what it applies). */
  force?: boolean | undefined;
}

export interface DeleteOptions extends CallOptions {
  /** Delete only if the object still has this uid / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string } | undefined;
  propagationPolicy?: "Foreground" | "Background" | "Orphan" | undefined;
  gracePeriodSeconds?: number | undefined;
  /** Resolve with false instead of throwing NotFoundError when the object is already gone. */
  ignoreNotFound?: boolean | undefined;
  dryRun?: boolean | undefined;
}

export interface WatchOptions extends CallOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  resourceVersion?: string | undefined;
  /** Ask for BOOKMARK events (keep the resourceVersion fresh on quiet watches). Default true. */
  allowWatchBookmarks?: boolean | undefined;
  /** The server ends the watch after this long. Default: random 300–600 s, like client-go. */
  timeoutSeconds?: number | undefined;
  /** Abort when nothing (not even a bookmark) arrives this long. Default timeoutSeconds + 60 s. */
  idleTimeoutMs?: number | undefined;
}

type Query = Record<string, string | undefined>;

interface Request {
  method: HttpMethod;
  path: string;
  query?: Query;
  body?: unknown;
  contentType?: string;
  target: RequestTarget;
  write?: { verb: WriteVerb; resource: string };
  signal?: AbortSignal | undefined;
  timeoutMs?: number | null;
}

export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly fieldManager: string;
  readonly writes: WriteCounter;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #http = new IsomorphicFetchHttpLibrary();
  #dispatcher: Dispatcher | undefined;
  #dispatcherAt = 0;

  constructor(opts: KubeClientOptions) {
    this.kubeConfig = opts.kubeConfig;
    this.fieldManager = opts.fieldManager ?? DEFAULT_FIELD_MANAGER;
    this.writes = opts.writes ?? new WriteCounter();
    this.#timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#userAgent = opts.userAgent ?? "keyward";
  }

  /** The API server URL of the current context. */
  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (cluster === null) throw new KubeError("ERR_KUBE_CONFIG", "the kubeconfig has no current cluster");
    return cluster.server;
  }

  async get<T extends KubeObject = KubeObject>(resource: Resource, ref: ObjectRef, opts: CallOptions & { subresource?: string } = {}): Promise<T> {
    const namespace = this.#namespaceFor(resource, ref.namespace, "get", ref.name);
    return this.#json<T>({
      method: "GET",
      path: resourcePath(resource, { namespace, name: ref.name, subresource: opts.subresource }),
      target: { verb: "get", resource: resourceName(resource, opts.subresource), namespace, name: ref.name },
      signal: opts.signal,
    });
  }

  /** Like get, but resolves with undefined when the object does not exist. */
  async find<T extends KubeObject = KubeObject>(resource: Resource, ref: ObjectRef, opts: CallOptions = {}): Promise<T | undefined> {
    try {
      return await this.get<T>(resource, ref, opts);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** One page of a list (all of it unless `limit` is set). Without a namespace, lists across all namespaces. */
  async list<T extends KubeObject = KubeObject>(resource: Resource, opts: ListOptions = {}): Promise<KubeList<T>> {
    const namespace = this.#collectionNamespace(resource, opts.namespace, "list");
    return this.#json<KubeList<T>>({
      method: "GET",
      path: resourcePath(resource, { namespace }),
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit?.toString(),
        continue: opts.continue,
        resourceVersion: opts.resourceVersion,
      },
      target: { verb: "list", resource: resourceName(resource), namespace },
      signal: opts.signal,
    });
  }

  /** Every page of a list, following continue tokens; the result carries the list's resourceVersion. */
  async listAll<T extends KubeObject = KubeObject>(resource: Resource, opts: Omit<ListOptions, "continue"> & { pageSize?: number } = {}): Promise<KubeList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let last: KubeList<T>;
    do {
      last = await this.list<T>(resource, { ...opts, limit: opts.pageSize ?? opts.limit ?? 500, continue: cont });
      items.push(...last.items);
      cont = last.metadata.continue !== undefined && last.metadata.continue !== "" ? last.metadata.continue : undefined;
    } while (cont !== undefined);
    return { ...last, metadata: { resourceVersion: last.metadata.resourceVersion }, items };
  }

  async create<T extends KubeObject>(resource: Resource, obj: T, opts: WriteOptions = {}): Promise<T & KubeObject> {
    const namespace = this.#namespaceFor(resource, obj.metadata?.namespace, "create", obj.metadata?.name ?? obj.metadata?.generateName);
    return this.#json<T>({
      method: "POST",
      path: resourcePath(resource, { namespace }),
      query: this.#writeQuery(opts),
      body: withTypeMeta(resource, obj),
      contentType: ContentTypes.json,
      target: { verb: "create", resource: resourceName(resource), namespace, name: obj.metadata?.name },
      write: { verb: "create", resource: resourceName(resource) },
      signal: opts.signal,
    });
  }

  /**
   * PUT the whole object. It must carry metadata.resourceVersion: a stale one
   * fails with ConflictError instead of overwriting someone else's change.
   */
  async replace<T extends KubeObject>(resource: Resource, obj: T, opts: WriteOptions = {}): Promise<T & KubeObject> {
    return this.#put(resource, obj, undefined, opts);
  }

  /** PUT the status subresource (spec changes in `obj` are ignored by the server). */
  async replaceStatus<T extends KubeObject>(resource: Resource, obj: T, opts: WriteOptions = {}): Promise<T & KubeObject> {
    return this.#put(resource, obj, "status", opts);
  }

  /** Deletes an object. Resolves true when it was deleted (or deletion started), false when already gone and ignoreNotFound. */
  async delete(resource: Resource, ref: ObjectRef, opts: DeleteOptions = {}): Promise<boolean> {
    const namespace = this.#namespaceFor(resource, ref.namespace, "delete", ref.name);
    const body: Record<string, unknown> = { apiVersion: "v1", kind: "DeleteOptions" };
    if (opts.preconditions !== undefined) body.preconditions = opts.preconditions;
    if (opts.propagationPolicy !== undefined) body.propagationPolicy = opts.propagationPolicy;
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    try {
      await this.#json({
        method: "DELETE",
        path: resourcePath(resource, { namespace, name: ref.name }),
        query: { dryRun: opts.dryRun === true ? "All" : undefined },
        body,
        contentType: ContentTypes.json,
        target: { verb: "delete", resource: resourceName(resource), namespace, name: ref.name },
        write: { verb: "delete", resource: resourceName(resource) },
        signal: opts.signal,
      });
      return true;
    } catch (err) {
      if (opts.ignoreNotFound === true && isNotFound(err)) return false;
      throw err;
    }
  }

  /** JSON merge patch (RFC 7396): `null` removes a field; lists are replaced whole. */
  async mergePatch<T extends KubeObject = KubeObject>(resource: Resource, ref: ObjectRef, patch: object, opts: PatchOptions = {}): Promise<T> {
    return this.#mergePatch<T>(resource, ref, patch, undefined, opts);
  }

  /** JSON merge patch of the status subresource. */
  async mergePatchStatus<T extends KubeObject = KubeObject>(resource: Resource, ref: ObjectRef, patch: object, opts: PatchOptions = {}): Promise<T> {
    return this.#mergePatch<T>(resource, ref, patch, "status", opts);
  }

  /**
   * Server-side apply: `obj` is the full intent of this field manager (fields it
   * applied before and leaves out are removed). apiVersion and kind are filled in.
   */
  async apply<T extends KubeObject>(resource: Resource, obj: T, opts: ApplyOptions = {}): Promise<T & KubeObject> {
    return this.#apply(resource, obj, undefined, opts);
  }

  /** Server-side apply of the status subresource. */
  async applyStatus<T extends KubeObject>(resource: Resource, obj: T, opts: ApplyOptions = {}): Promise<T & KubeObject> {
    return this.#apply(resource, obj, "status", opts);
  }

  /**
   * Watches a collection from `resourceVersion`. Yields ADDED, MODIFIED, DELETED
   * and BOOKMARK events; ends when the server closes the watch (normally after
   * timeoutSeconds) or the signal aborts. A server ERROR event is thrown as the
   * matching typed error: GoneError (410) means the resourceVersion is too old.
   */
  async *watch<T extends KubeObject = KubeObject>(resource: Resource, opts: WatchOptions = {}): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const namespace = this.#collectionNamespace(resource, opts.namespace, "watch");
    const timeoutSeconds = opts.timeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    const idleMs = opts.idleTimeoutMs ?? (timeoutSeconds + 60) * 1000;
    const target: RequestTarget = { verb: "watch", resource: resourceName(resource), namespace };
    const local = new AbortController();
    const signal = opts.signal === undefined ? local.signal : AbortSignal.any([opts.signal, local.signal]);
    let idle = false;
    const isIdle = (): boolean => idle;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        local.abort();
      }, timerDelay(idleMs));
      timer.unref();
    };

    try {
      arm();
      const resp = await this.#send({
        method: "GET",
        path: resourcePath(resource, { namespace }),
        query: {
          watch: "true",
          resourceVersion: opts.resourceVersion,
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          allowWatchBookmarks: opts.allowWatchBookmarks === false ? undefined : "true",
          timeoutSeconds: timeoutSeconds.toString(),
        },
        target,
        signal,
        timeoutMs: null,
      });
      if (resp.httpStatusCode !== 200) {
        throw await responseError(target, resp.httpStatusCode, resp.headers, await resp.body.text());
      }
      const stream = resp.body.stream();
      if (stream === null) return;
      const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          arm();
          buffer += value;
          let nl: number;
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line === "") continue;
            yield parseWatchLine<T>(line, target);
          }
        }
      } finally {
        reader.releaseLock();
      }
    } catch (err) {
      if (opts.signal?.aborted === true) return;
      if (isIdle()) {
        throw new UnavailableError(target, 0, undefined, {
          message: `${target.verb} ${target.resource}: nothing received for ${Math.round(idleMs / 1000)} s, the connection is presumed dead`,
          cause: err,
        });
      }
      throw err;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      local.abort();
    }
  }

  async #put<T extends KubeObject>(resource: Resource, obj: T, subresource: "status" | undefined, opts: WriteOptions): Promise<T & KubeObject> {
    const name = obj.metadata?.name;
    const verb = subresource === undefined ? "replace" : "replace status of";
    if (name === undefined || name === "") {
      throw new KubeError("ERR_KUBE_CLIENT_INPUT", `${verb} ${resourceName(resource)}: metadata.name is required`);
    }
    const namespace = this.#namespaceFor(resource, obj.metadata?.namespace, verb, name);
    const rv = obj.metadata?.resourceVersion;
    if (rv === undefined || rv === "") {
      throw new KubeError(
        "ERR_KUBE_CLIENT_INPUT",
        `${verb} ${resourceName(resource)} ${namespace !== undefined ? `${namespace}/` : ""}${name}: metadata.resourceVersion is required (read the object first, or use apply)`,
      );
    }
    return this.#json<T>({
      method: "PUT",
      path: resourcePath(resource, { namespace, name, subresource }),
      query: this.#writeQuery(opts),
      body: withTypeMeta(resource, obj),
      contentType: ContentTypes.json,
      target: { verb: "update", resource: resourceName(resource, subresource), namespace, name },
      write: { verb: "update", resource: resourceName(resource, subresource) },
      signal: opts.signal,
    });
  }

  async #mergePatch<T extends KubeObject>(resource: Resource, ref: ObjectRef, patch: object, subresource: "status" | undefined, opts: PatchOptions): Promise<T> {
    const namespace = this.#namespaceFor(resource, ref.namespace, "patch", ref.name);
    let body: object = patch;
    if (opts.resourceVersion !== undefined) {
      const p = patch as { metadata?: object };
      body = { ...p, metadata: { ...(p.metadata ?? {}), resourceVersion: opts.resourceVersion } };
    }
    return this.#json<T>({
      method: "PATCH",
      path: resourcePath(resource, { namespace, name: ref.name, subresource }),
      query: this.#writeQuery(opts),
      body,
      contentType: ContentTypes.mergePatch,
      target: { verb: "patch", resource: resourceName(resource, subresource), namespace, name: ref.name },
      write: { verb: "patch", resource: resourceName(resource, subresource) },
      signal: opts.signal,
    });
  }

  async #apply<T extends KubeObject>(resource: Resource, obj: T, subresource: "status" | undefined, opts: ApplyOptions): Promise<T & KubeObject> {
    const name = obj.metadata?.name;
    if (name === undefined || name === "") {
      throw new KubeError("ERR_KUBE_CLIENT_INPUT", `apply ${resourceName(resource, subresource)}: metadata.name is required`);
    }
    const namespace = this.#namespaceFor(resource, obj.metadata?.namespace, "apply", name);
    return this.#json<T>({
      method: "PATCH",
      path: resourcePath(resource, { namespace, name, subresource }),
      query: { ...this.#writeQuery(opts), force: opts.force === false ? undefined : "true" },
      // JSON is YAML: the server parses an apply body of either syntax.
      body: withTypeMeta(resource, obj),
      contentType: ContentTypes.applyPatch,
      target: { verb: "apply", resource: resourceName(resource, subresource), namespace, name },
      write: { verb: "apply", resource: resourceName(resource, subresource) },
      signal: opts.signal,
    });
  }

  #writeQuery(opts: WriteOptions): Query {
    return { fieldManager: opts.fieldManager ?? this.fieldManager, dryRun: opts.dryRun === true ? "All" : undefined };
  }

  #namespaceFor(resource: Resource, namespace: string | undefined, verb: string, name: string | undefined): string | undefined {
    if (!resource.namespaced) {
      this.#noNamespace(resource, namespace, verb);
      return undefined;
    }
    if (namespace === undefined || namespace === "") {
      throw new KubeError(
        "ERR_KUBE_CLIENT_INPUT",
        `${verb} ${resourceName(resource)}${name !== undefined ? ` ${name}` : ""}: ${resource.kind} is namespaced, a namespace is required`,
      );
    }
    return namespace;
  }

  /** A namespace for list/watch: none means all namespaces. */
  #collectionNamespace(resource: Resource, namespace: string | undefined, verb: string): string | undefined {
    if (resource.namespaced) return namespace === "" ? undefined : namespace;
    this.#noNamespace(resource, namespace, verb);
    return undefined;
  }

  #noNamespace(resource: Resource, namespace: string | undefined, verb: string): void {
    if (namespace !== undefined && namespace !== "") {
      throw new KubeError("ERR_KUBE_CLIENT_INPUT", `${verb} ${resourceName(resource)}: ${resource.kind} is cluster-scoped, it has no namespace (got "${namespace}")`);
    }
  }

  async #json<T>(req: Request): Promise<T> {
    const resp = await this.#send(req);
    const text = await readText(resp.body, req.target);
    if (resp.httpStatusCode < 200 || resp.httpStatusCode > 299) {
      throw await responseError(req.target, resp.httpStatusCode, resp.headers, text);
    }
    if (text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new KubeApiError("ERR_KUBE_UNEXPECTED", req.target, resp.httpStatusCode, undefined, {
        message: `${req.target.verb} ${req.target.resource}: the server answered ${resp.httpStatusCode} with a body that is not JSON`,
        cause: err,
      });
    }
  }

  /**
   * client-node builds a new undici Agent (so a new TLS connection, with a new
   * handshake on both ends) for every request. Keep one for DISPATCHER_TTL_MS and
   * reuse its keep-alive connections; a fresh one after that picks up rotated
   * client certificates or CA files. The retired one closes once its requests
   * (a watch, say) have finished.
   */
  #reuseConnections(ctx: RequestContext): void {
    const fresh = ctx.getDispatcher();
    if (fresh === undefined) return;
    const now = Date.now();
    if (this.#dispatcher !== undefined && now - this.#dispatcherAt < DISPATCHER_TTL_MS) {
      ctx.setDispatcher(this.#dispatcher);
      return;
    }
    const retired = this.#dispatcher;
    this.#dispatcher = fresh;
    this.#dispatcherAt = now;
    if (retired !== undefined) retired.close().catch(() => undefined);
  }

  async #send(req: Request) {
    const url = new URL(this.server.replace(/\/+$/, "") + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, v);
    }
    const ctx = new RequestContext(url.toString(), req.method);
    ctx.setHeaderParam("Accept", "application/json");
    ctx.setHeaderParam("User-Agent", this.#userAgent);
    if (req.body !== undefined) {
      ctx.setHeaderParam("Content-Type", req.contentType ?? ContentTypes.json);
      ctx.setBody(JSON.stringify(req.body));
    }
    await this.kubeConfig.applySecurityAuthentication(ctx);
    this.#reuseConnections(ctx);
    const signals: AbortSignal[] = [];
    if (req.signal !== undefined) signals.push(req.signal);
    const timeoutMs = req.timeoutMs === undefined ? this.#timeoutMs : req.timeoutMs;
    if (timeoutMs !== null) signals.push(AbortSignal.timeout(timerDelay(timeoutMs)));
    if (signals.length > 0) ctx.setSignal(signals.length === 1 ? signals[0]! : AbortSignal.any(signals));
    if (req.write !== undefined) this.writes.record(req.write.verb, req.write.resource);
    try {
      return await this.#http.send(ctx).toPromise();
    } catch (err) {
      if (req.signal?.aborted === true) throw req.signal.reason;
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      throw new UnavailableError(req.target, 0, undefined, {
        message: timedOut
          ? `${req.target.verb} ${req.target.resource}: no answer from the API server at ${url.origin} within ${timeoutMs ?? 0} ms`
          : `${req.target.verb} ${req.target.resource}: cannot reach the API server at ${url.origin}: ${causeMessage(err)}`,
        cause: err,
      });
    }
  }
}

function withTypeMeta<T extends KubeObject>(resource: Resource, obj: T): T {
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(resource), kind: obj.kind ?? resource.kind };
}

async function readText(body: { text(): Promise<string> }, target: RequestTarget): Promise<string> {
  try {
    return await body.text();
  } catch (err) {
    throw new UnavailableError(target, 0, undefined, {
      message: `${target.verb} ${target.resource}: the connection broke while reading the answer: ${causeMessage(err)}`,
      cause: err,
    });
  }
}

async function responseError(target: RequestTarget, status: number, headers: Record<string, string>, text: string): Promise<KubeApiError> {
  let body: Status | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === "object") body = parsed;
  } catch {
    body = text.trim() !== "" ? { message: text.trim().slice(0, 500) } : undefined;
  }
  return Promise.resolve(errorFromResponse(target, status, body, headers["retry-after"]));
}

function parseWatchLine<T extends KubeObject>(line: string, target: RequestTarget): WatchEvent<T> {
  let ev: { type?: unknown; object?: unknown };
  try {
    ev = JSON.parse(line) as { type?: unknown; object?: unknown };
  } catch (err) {
    throw new KubeApiError("ERR_KUBE_UNEXPECTED", target, 200, undefined, {
      message: `${target.verb} ${target.resource}: the watch stream sent a line that is not JSON`,
      cause: err,
    });
  }
  switch (ev.type) {
    case "ADDED":
    case "MODIFIED":
    case "DELETED":
      return { type: ev.type, object: ev.object as T };
    case "BOOKMARK":
      return { type: "BOOKMARK", object: ev.object as KubeObject };
    case "ERROR": {
      const status = ev.object as Status;
      throw errorFromResponse(target, status.code ?? 500, status);
    }
    default:
      throw new KubeApiError("ERR_KUBE_UNEXPECTED", target, 200, undefined, {
        message: `${target.verb} ${target.resource}: the watch stream sent an event of unknown type ${JSON.stringify(ev.type)}`,
      });
  }
}

function causeMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
