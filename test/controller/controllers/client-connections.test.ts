// The controller sends thousands of requests: its client must reuse connections
// (one TLS handshake, not one per request, on both ends).

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { KubeClient } from "../../../src/kube/client.ts";
import { Resources } from "../../../src/kube/resources.ts";

let server: Server | undefined;

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s === undefined) return;
  s.closeAllConnections();
  await new Promise<void>((resolve) => {
    s.close(() => { resolve(); });
  });
});

describe("the controller's client", () => {
  it("sends its requests over a few kept-alive connections instead of one connection each", async () => {
    let connections = 0;
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ kind: "Secret", apiVersion: "v1", metadata: { name: "s", namespace: "acme", resourceVersion: "1" } }));
    });
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // skipTLSVerify gives client-node TLS options, so it builds a dispatcher per request.
      clusters: [{ name: "c", server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: "u", token: "t" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const client = new KubeClient({ kubeConfig: kc });
    for (let i = 0; i < 20; i++) await client.get(Resources.secrets, { namespace: "acme", name: "s" });
    expect(connections).toBeLessThanOrEqual(2);
    await Promise.all(Array.from({ length: 5 }, () => client.get(Resources.secrets, { namespace: "acme", name: "s" })));
    expect(connections).toBeLessThanOrEqual(7);
  });
});
