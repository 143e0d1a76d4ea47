// The HTTPS server of the admission webhook, on every controller replica. It answers POST
// /inject with the AdmissionReview of review.ts. Its certificate is swapped in place
// (setSecureContext) when the rotator loads a new one: connections open keep theirs, new ones
// get the new pair, nothing restarts. Until a first pair is loaded, handshakes fail: the API
// server then applies the webhook's failurePolicy (Fail: opted-in Pods are refused, never
// admitted unprotected).

import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../kube/logger.ts";
import { parseReview, review, ReviewError } from "./review.ts";

export const WEBHOOK_PATH = "/inject";
/** An AdmissionReview of a Pod is well under this; anything larger is refused. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ServingPair {
  cert: string;
  key: string;
}

export interface WebhookServerOptions {
  host: string;
  port: number;
  /** The sidecar image. */
  image: string;
  log: Logger;
}

export interface WebhookServer {
  readonly port: number;
  /** Serve this pair to new connections. */
  setPair(pair: ServingPair): void;
  hasPair(): boolean;
  close(): Promise<void>;
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  let loaded = false;
  const server: Server = createServer({ minVersion: "TLSv1.2" }, (req, res) => {
    handle(req, res, opts).catch((err: unknown) => {
      opts.log.error({ err: err instanceof Error ? err.message : String(err) }, "admission request failed");
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error\n");
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    setPair: (pair) => {
      server.setSecureContext({ cert: pair.cert, key: pair.key, minVersion: "TLSv1.2" });
      loaded = true;
    },
    hasPair: () => loaded,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => { resolve(); });
        server.closeIdleConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: WebhookServerOptions): Promise<void> {
  const url = new URL(req.url ?? "/", "https://webhook");
  if (url.pathname !== WEBHOOK_PATH) { text(res, 404, "not found\n"); return; }
  if (req.method !== "POST") { text(res, 405, "use POST\n"); return; }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) { text(res, 413, "request too large\n"); return; }
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    text(res, 400, "the body is not JSON\n");
    return;
  }
  let answer;
  try {
    const request = parseReview(body);
    answer = review(request, opts.image);
    const fields = { uid: request.uid, namespace: request.namespace, outcome: answer.outcome, dryRun: request.dryRun === true };
    if (answer.outcome === "denied") opts.log.info({ ...fields, code: answer.code, reason: answer.review.response.status?.message }, "pod denied: sidecar cannot be injected");
    else opts.log.debug(fields, "pod admitted");
  } catch (err) {
    if (err instanceof ReviewError) { text(res, 400, `${err.message}\n`); return; }
    throw err;
  }
  const json = JSON.stringify(answer.review);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

function text(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { "content-type": "text/plain" });
  res.end(message);
}
