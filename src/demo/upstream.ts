// The workload behind the verifier: answers every request 200 with a small JSON document
// naming the request and the identity headers the verifier added, so the demo can show what
// the workload sees. It never sees a token: the verifier removes the Authorization header.

import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface UpstreamSeen {
  method: string;
  path: string;
  /** X-Keyward-Api-Key, X-Keyward-Tenant and X-Keyward-Token-Id as received. */
  apiKey: string | null;
  tenant: string | null;
  tokenId: string | null;
  /** Whether an Authorization header reached the workload (it should not). */
  authorization: boolean;
}

export interface Upstream {
  readonly url: string;
  /** Requests that reached the workload, in order. */
  readonly seen: readonly UpstreamSeen[];
  close(): Promise<void>;
}

function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === "string" ? v : null;
}

export async function startUpstream(): Promise<Upstream> {
  const seen: UpstreamSeen[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const entry: UpstreamSeen = {
        method: req.method ?? "",
        path: req.url ?? "",
        apiKey: header(req, "x-keyward-api-key"),
        tenant: header(req, "x-keyward-tenant"),
        tokenId: header(req, "x-keyward-token-id"),
        authorization: req.headers.authorization !== undefined,
      };
      seen.push(entry);
      res.writeHead(200, { "content-type": "application/json" }).end(`${JSON.stringify({ workload: "keyward-demo", ...entry })}\n`);
    });
  });
  server.keepAliveTimeout = 2_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
