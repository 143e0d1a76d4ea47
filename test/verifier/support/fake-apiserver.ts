// A minimal Kubernetes API server for one ConfigMap: list with a field selector and
// watch from a resourceVersion, as kube-apiserver answers them; and a GET by name of
// other ConfigMaps of the namespace (the revocation segments). The real client library
// talks to it over HTTP on 127.0.0.1; tests push watch events and break connections.

import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export interface FakeConfigMap {
  name: string;
  namespace: string;
  data: Record<string, string>;
}

export interface SeenCall {
  /** The request's path, without the query. */
  path: string;
  watch: boolean;
  fieldSelector: string | null;
  resourceVersion: string | null;
}

export class FakeApiServer {
  readonly calls: SeenCall[] = [];
  /** Watches from a resourceVersion below this get 410 Gone. */
  goneBelow = 0;
  /** Other ConfigMaps of namespace acme, by name, each with its data: answered to a GET by name. */
  readonly others = new Map<string, Record<string, string>>();
  #rv = 100;
  #object: FakeConfigMap | null = null;
  #watchers = new Set<ServerResponse>();
  #server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const watch = url.searchParams.get("watch") === "true";
    this.calls.push({ path: url.pathname, watch, fieldSelector: url.searchParams.get("fieldSelector"), resourceVersion: url.searchParams.get("resourceVersion") });
    const other = /^\/api\/v1\/namespaces\/acme\/configmaps\/([^/]+)$/.exec(url.pathname);
    const otherData = other === null ? undefined : this.others.get(decodeURIComponent(other[1]!));
    if (other !== null && otherData !== undefined && !watch) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(this.#manifest({ name: decodeURIComponent(other[1]!), namespace: "acme", data: otherData })));
      return;
    }
    if (url.pathname !== "/api/v1/namespaces/acme/configmaps") {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", code: 404 }));
      return;
    }
    if (!watch) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "ConfigMapList", apiVersion: "v1", metadata: { resourceVersion: String(this.#rv) }, items: this.#object === null ? [] : [this.#manifest(this.#object)] }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    res.flushHeaders();
    const from = Number(url.searchParams.get("resourceVersion") ?? "0");
    if (from < this.goneBelow) {
      res.end(`${JSON.stringify({ type: "ERROR", object: { kind: "Status", apiVersion: "v1", status: "Failure", code: 410, reason: "Expired", message: `too old resource version: ${from}` } })}\n`);
      return;
    }
    this.#watchers.add(res);
    res.on("close", () => this.#watchers.delete(res));
  });

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  get watching(): number {
    return this.#watchers.size;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => { resolve(); }));
  }

  /** A kubeconfig for this server (or for `server`, e.g. one that is gone). */
  kubeConfig(server = this.url): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server, skipTLSVerify: true }],
      users: [{ name: "verifier", token: "fake-token" }],
      contexts: [{ name: "fake", cluster: "fake", user: "verifier" }],
      currentContext: "fake",
    });
    return kc;
  }

  /** Sets the object without telling watchers (as if events were missed). */
  setQuietly(cm: FakeConfigMap | null): void {
    this.#rv += 1;
    this.#object = cm;
  }

  /** Sets the object and sends the event to every watcher. */
  set(cm: FakeConfigMap, type: "ADDED" | "MODIFIED" = "MODIFIED"): void {
    this.setQuietly(cm);
    this.#send(type, this.#manifest(cm));
  }

  delete(): void {
    const old = this.#object;
    this.setQuietly(null);
    if (old !== null) this.#send("DELETED", this.#manifest(old));
  }

  /** Ends every watch cleanly, as the server's timeoutSeconds does. */
  endWatches(): void {
    for (const w of this.#watchers) w.end();
  }

  /** Breaks every watch connection. */
  breakWatches(): void {
    for (const w of this.#watchers) w.destroy();
  }

  #send(type: string, object: unknown): void {
    for (const w of this.#watchers) w.write(`${JSON.stringify({ type, object })}\n`);
  }

  #manifest(cm: FakeConfigMap): unknown {
    return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: cm.name, namespace: cm.namespace, resourceVersion: String(this.#rv) }, data: cm.data };
  }
}
