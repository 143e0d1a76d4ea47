// The proxy over a pool of one connection to the workload: what happens to a
// request that has to wait for that connection.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/verifier/log.ts";
import { VerifierMetrics } from "../../src/verifier/metrics.ts";
import { createProxy } from "../../src/verifier/proxy.ts";
import { eventually, send, startUpstream, type Upstream } from "./support/http.ts";

let up: Upstream;
let server: Server;
let pool: Pool;

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  await pool.destroy();
  await up.close();
});

/** A bare proxy (no token check) in front of `up`, with one pooled connection. */
async function proxyWithOneConnection(upstreamTimeoutMs: number): Promise<number> {
  const upstream = new URL(up.url);
  pool = new Pool(upstream.origin, { connections: 1, pipelining: 1 });
  const metrics = new VerifierMetrics(() => 0);
  const proxy = createProxy({
    upstream, pool, upstreamTimeoutMs, forwardAuthorization: false, decider: null,
    metrics, logger: createLogger("silent"), draining: () => false,
  });
  server = createServer(proxy.onRequest);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

describe("proxy: a request waiting for a pooled connection", () => {
  it("gets 504 when no connection frees up within the upstream timeout, and never reaches the workload", async () => {
    // The first request gets its answer's head at once and then a body that never ends:
    // it holds the one connection past the timeout without timing out itself.
    up = await startUpstream((req, res, seen) => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, body: "" });
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("streaming");
    });
    const port = await proxyWithOneConnection(300);
    const holding = send(port, { path: "/stream" }).catch(() => null);
    await eventually(() => up.seen.length > 0, "the first request to reach the workload");
    const waiting = await send(port, { path: "/second" });
    expect(waiting.status).toBe(504);
    expect(JSON.parse(waiting.body)).toMatchObject({ code: "ERR_UPSTREAM_TIMEOUT" });
    expect(up.seen.map((s) => s.url)).toEqual(["/stream"]);
    server.closeAllConnections();
    await holding;
  });
});
