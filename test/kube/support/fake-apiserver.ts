// An in-memory stand-in for kube-apiserver, served over real HTTP on 127.0.0.1,
// for unit tests of the client and of what is built on it. It keeps objects per
// collection with resourceVersions, answers get/list/create/update/patch/delete
// (status subresource included), streams watches from a history that can be
// compacted (410 Gone), records every request, and lets a test inject failures.
// What only the real server can show (server-side apply semantics, validation)
// is covered by the integration tests.

import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  authorization: string | undefined;
  body: unknown;
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

interface Route {
  /** "v1/secrets", "keyward.dev/v1alpha1/apikeys" */
  collection: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

interface HistoryEvent {
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  collection: string;
  object: Obj;
}

interface Watcher {
  collection: string;
  namespace: string | undefined;
  selector: Array<[string, string]>;
  res: ServerResponse;
}

/** Returns a response to send instead of handling the request, or undefined to handle it. */
export type FaultInjector = (req: RecordedRequest) => { status: number; body?: unknown } | undefined;

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  #server: Server;
  #store = new Map<string, Map<string, Obj>>();
  #history: HistoryEvent[] = [];
  #rv = 100;
  #compactedRv = 0;
  #watchers = new Set<Watcher>();
  #faults: FaultInjector[] = [];
  #port = 0;

  private constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(): Promise<FakeApiServer> {
    const s = new FakeApiServer();
    await new Promise<void>((resolve) => s.#server.listen(0, "127.0.0.1", resolve));
    s.#port = (s.#server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "tester", token: "fake-bearer-token" }],
      contexts: [{ name: "fake", cluster: "fake", user: "tester" }],
      currentContext: "fake",
    });
    return kc;
  }

  /** Adds a fault injector; returns the function removing it. */
  inject(fault: FaultInjector): () => void {
    this.#faults.push(fault);
    return () => {
      this.#faults = this.#faults.filter((f) => f !== fault);
    };
  }

  /** Writes of the recorded requests (everything but GET). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET");
  }

  /** Puts an object straight into the store (as another client would), notifying watchers. */
  seed(collection: string, obj: Obj): Obj {
    return this.#put(collection, obj, "ADDED");
  }

  /** Changes an object as another client would. */
  modify(collection: string, namespace: string | undefined, name: string, change: (obj: Obj) => void): Obj {
    const existing = this.object(collection, namespace, name);
    if (existing === undefined) throw new Error(`fake apiserver: no ${collection} ${namespace ?? ""}/${name}`);
    const next = structuredClone(existing);
    change(next);
    return this.#put(collection, next, "MODIFIED");
  }

  /** Deletes an object as another client would. */
  remove(collection: string, namespace: string | undefined, name: string): void {
    const existing = this.object(collection, namespace, name);
    if (existing === undefined) throw new Error(`fake apiserver: no ${collection} ${namespace ?? ""}/${name}`);
    this.#delete(collection, existing);
  }

  object(collection: string, namespace: string | undefined, name: string): Obj | undefined {
    return this.#store.get(collection)?.get(keyOf(namespace, name));
  }

  objects(collection: string): Obj[] {
    return [...(this.#store.get(collection)?.values() ?? [])];
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Forgets history up to now: watches from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history = [];
  }

  /** Ends every open watch, as the server does on its timeout. */
  closeWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  async stop(): Promise<void> {
    this.closeWatches();
    await new Promise<void>((resolve) => {
      this.#server.close(() => { resolve(); });
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw === "" ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    const rec: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      contentType: req.headers["content-type"],
      authorization: req.headers.authorization,
      body,
    };
    this.requests.push(rec);
    for (const fault of this.#faults) {
      const answer = fault(rec);
      if (answer !== undefined) {
        send(res, answer.status, answer.body ?? status(answer.status, "Injected", "injected failure"));
        return;
      }
    }
    const route = parseRoute(url.pathname);
    if (route === undefined) {
      send(res, 404, status(404, "NotFound", `the server could not find the requested resource (${url.pathname})`));
      return;
    }
    try {
      this.#dispatch(rec, route, res);
    } catch (err) {
      send(res, 500, status(500, "InternalError", err instanceof Error ? err.message : String(err)));
    }
  }

  #dispatch(req: RecordedRequest, route: Route, res: ServerResponse): void {
    const { collection, namespace, name, subresource } = route;
    const items = this.#store.get(collection) ?? new Map<string, Obj>();
    const existing = name === undefined ? undefined : items.get(keyOf(namespace, name));
    const notFound = (): void => {
      send(res, 404, status(404, "NotFound", `${collection.split("/").pop() ?? ""} "${name ?? ""}" not found`));
    };

    switch (req.method) {
      case "GET": {
        if (name !== undefined) {
          if (existing === undefined) notFound();
          else send(res, 200, existing);
          return;
        }
        const selector = parseSelector(req.query.get("labelSelector"));
        if (req.query.get("watch") === "true") {
          this.#watch(collection, namespace, selector, req.query.get("resourceVersion") ?? "", res);
          return;
        }
        const list = [...items.values()].filter((o) => inNamespace(o, namespace) && matchesSelector(o, selector));
        send(res, 200, { kind: "List", apiVersion: "v1", metadata: { resourceVersion: String(this.#rv) }, items: list });
        return;
      }
      case "POST": {
        const obj = req.body as Obj;
        const objName = obj.metadata.name as string;
        if (items.has(keyOf(namespace, objName))) {
          send(res, 409, status(409, "AlreadyExists", `"${objName}" already exists`));
          return;
        }
        if (namespace !== undefined) obj.metadata.namespace = namespace;
        obj.metadata.uid = randomUUID();
        obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
        obj.metadata.generation = 1;
        send(res, 201, this.#put(collection, obj, "ADDED"));
        return;
      }
      case "PUT": {
        if (existing === undefined) {
          notFound();
          return;
        }
        const obj = req.body as Obj;
        if (obj.metadata.resourceVersion !== existing.metadata.resourceVersion) {
          send(res, 409, status(409, "Conflict", `Operation cannot be fulfilled on ${collection} "${name ?? ""}": the object has been modified; please apply your changes to the latest version and try again`));
          return;
        }
        send(res, 200, this.#put(collection, this.#writeOver(existing, obj, subresource), "MODIFIED"));
        return;
      }
      case "PATCH": {
        const ct = req.contentType ?? "";
        const patch = req.body as Obj;
        if (ct === "application/apply-patch+yaml") {
          if (existing === undefined) {
            if (namespace !== undefined) patch.metadata.namespace = namespace;
            patch.metadata.uid = randomUUID();
            patch.metadata.generation = 1;
            send(res, 201, this.#put(collection, patch, "ADDED"));
            return;
          }
        } else if (ct !== "application/merge-patch+json") {
          send(res, 415, status(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`));
          return;
        }
        if (existing === undefined) {
          notFound();
          return;
        }
        const wantRv = (patch.metadata as Record<string, unknown> | undefined)?.resourceVersion;
        if (wantRv !== undefined && wantRv !== existing.metadata.resourceVersion) {
          send(res, 409, status(409, "Conflict", "the object has been modified"));
          return;
        }
        const merged = mergePatch(structuredClone(existing), patch) as Obj;
        send(res, 200, this.#put(collection, this.#writeOver(existing, merged, subresource), "MODIFIED"));
        return;
      }
      case "DELETE": {
        if (existing === undefined) {
          notFound();
          return;
        }
        this.#delete(collection, existing);
        send(res, 200, status(200, "", "deleted", "Success"));
        return;
      }
      default:
        send(res, 405, status(405, "MethodNotAllowed", "method not allowed"));
    }
  }

  /** Main resource writes keep status; status writes change only status. */
  #writeOver(existing: Obj, incoming: Obj, subresource: string | undefined): Obj {
    if (subresource === "status") return { ...structuredClone(existing), status: incoming.status };
    const next = { ...incoming, metadata: { ...incoming.metadata, uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp } } as Obj;
    if ("status" in existing) next.status = existing.status;
    else delete next.status;
    const specChanged = JSON.stringify(incoming.spec) !== JSON.stringify(existing.spec);
    next.metadata.generation = ((existing.metadata.generation as number | undefined) ?? 1) + (specChanged ? 1 : 0);
    return next;
  }

  #put(collection: string, obj: Obj, type: "ADDED" | "MODIFIED"): Obj {
    this.#rv++;
    obj.metadata.resourceVersion = String(this.#rv);
    let items = this.#store.get(collection);
    if (items === undefined) this.#store.set(collection, (items = new Map<string, Obj>()));
    items.set(keyOf(obj.metadata.namespace as string | undefined, obj.metadata.name as string), obj);
    this.#emit({ rv: this.#rv, type, collection, object: structuredClone(obj) });
    return obj;
  }

  #delete(collection: string, obj: Obj): void {
    this.#rv++;
    this.#store.get(collection)?.delete(keyOf(obj.metadata.namespace as string | undefined, obj.metadata.name as string));
    const gone = structuredClone(obj);
    gone.metadata.resourceVersion = String(this.#rv);
    this.#emit({ rv: this.#rv, type: "DELETED", collection, object: gone });
  }

  #emit(ev: HistoryEvent): void {
    this.#history.push(ev);
    for (const w of this.#watchers) {
      if (w.collection === ev.collection && inNamespace(ev.object, w.namespace) && matchesSelector(ev.object, w.selector)) {
        w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
      }
    }
  }

  #watch(collection: string, namespace: string | undefined, selector: Array<[string, string]>, rvParam: string, res: ServerResponse): void {
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    const from = rvParam === "" ? this.#rv : Number(rvParam);
    if (from < this.#compactedRv) {
      res.end(`${JSON.stringify({ type: "ERROR", object: status(410, "Expired", `too old resource version: ${from} (${this.#compactedRv})`) })}\n`);
      return;
    }
    for (const ev of this.#history) {
      if (ev.rv > from && ev.collection === collection && inNamespace(ev.object, namespace) && matchesSelector(ev.object, selector)) {
        res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
      }
    }
    const w: Watcher = { collection, namespace, selector, res };
    this.#watchers.add(w);
    res.on("close", () => this.#watchers.delete(w));
  }
}

export function status(code: number, reason: string, message: string, outcome: "Success" | "Failure" = "Failure"): object {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: outcome, message, reason, code };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

function keyOf(namespace: string | undefined, name: string): string {
  return namespace === undefined ? name : `${namespace}/${name}`;
}

function inNamespace(obj: Obj, namespace: string | undefined): boolean {
  return namespace === undefined || obj.metadata.namespace === namespace;
}

function parseSelector(s: string | null): Array<[string, string]> {
  if (s === null || s === "") return [];
  return s.split(",").map((part) => {
    const [k, v] = part.split("=");
    return [k ?? "", v ?? ""];
  });
}

function matchesSelector(obj: Obj, selector: Array<[string, string]>): boolean {
  const labels = (obj.metadata.labels ?? {}) as Record<string, string>;
  return selector.every(([k, v]) => labels[k] === v);
}

function parseRoute(path: string): Route | undefined {
  const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent);
  let gv: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    gv = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    gv = `${parts[1]!}/${parts[2]!}`;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource] = rest;
  if (plural === undefined) return undefined;
  return { collection: `${gv}/${plural}`, namespace, name, subresource };
}

/** RFC 7396 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) Reflect.deleteProperty(out, k);
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => { resolve(Buffer.concat(chunks).toString("utf8")); });
    req.on("error", reject);
  });
}
