// The admin server on its own port: /metrics, /healthz (the process answers) and /readyz
// (a usable bundle is loaded and the verifier is not draining).

import { createServer, type Server } from "node:http";
import type { BundleStore } from "./bundle/store.ts";
import type { VerifierMetrics } from "./metrics.ts";

export interface AdminOptions {
  store: BundleStore;
  metrics: VerifierMetrics;
  draining: () => boolean;
}

export type Readiness = { ready: true; generation: number } | { ready: false; reason: string };

export function readiness(store: BundleStore, draining: boolean): Readiness {
  if (draining) return { ready: false, reason: "draining: the verifier is shutting down" };
  const state = store.state();
  if (state.kind === "ready") return { ready: true, generation: state.bundle.generation };
  if (state.kind === "stale") return { ready: false, reason: `bundle generation ${state.bundle.generation} is ${Math.round(state.ageMs / 1000)}s old, beyond --max-bundle-age` };
  const failure = store.lastFailure();
  return { ready: false, reason: failure === null ? "no bundle loaded yet" : `no bundle loaded yet: ${failure}` };
}

export function createAdminServer(opts: AdminOptions): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const r = readiness(opts.store, opts.draining());
      if (r.ready) res.writeHead(200, { "content-type": "text/plain" }).end(`ready: bundle generation ${r.generation}\n`);
      else res.writeHead(503, { "content-type": "text/plain" }).end(`not ready: ${r.reason}\n`);
    } else if (path === "/metrics") {
      opts.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": opts.metrics.registry.contentType }).end(text),
        () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics, /healthz or /readyz\n");
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.maxConnections = 64;
  return server;
}
