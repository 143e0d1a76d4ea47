// Proxy mode: check every request, then stream it to the workload and stream the answer
// back, through a keep-alive undici pool. Bodies are streamed with backpressure in both
// directions, never buffered; Upgrade requests (WebSocket) are checked like any other and
// then get a pipe of raw sockets both ways (node:http, one connection each).

import { request as httpRequest, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Dispatcher } from "undici";
import type { Identity } from "../token/index.ts";
import { badRequestAnswer, transferCodingAnswer, upstreamAnswer } from "./answers.ts";
import type { Decider } from "./decide.ts";
import { clientResponseHeaders, repeatedHeader, targetPath, upstreamRequestHeaders } from "./headers.ts";
import type { Logger } from "./log.ts";
import type { VerifierMetrics } from "./metrics.ts";
import { answerFor, sendAnswer, sendAnswerOnSocket } from "./respond.ts";

export interface ProxyOptions {
  upstream: URL;
  /** Keep-alive connection pool to the workload (undici). */
  pool: Dispatcher;
  upstreamTimeoutMs: number;
  forwardAuthorization: boolean;
  /** Null only for the bare proxy of the benchmark: every request goes through unchecked. */
  decider: Decider | null;
  metrics: VerifierMetrics;
  logger: Logger;
  /** True once the verifier drains: answers carry Connection: close. */
  draining: () => boolean;
}

export interface Proxy {
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Upgraded connections in use (the server no longer tracks them). */
  readonly tunnels: ReadonlySet<Duplex>;
}

/** Headers a checked request must carry at most once, in the order their refusals are reported. */
const SINGLE_HEADERS = ["authorization", "host"] as const;

type DispatchController = Dispatcher.DispatchController;

/** Why a request to the workload was stopped: its client went away. */
class ClientGone extends Error {
  constructor() {
    super("the client closed the connection");
    this.name = "ClientGone";
  }
}

/** Why a request to the workload was stopped: no answer head within --upstream-timeout (the client got 504). */
class UpstreamTimedOut extends Error {
  constructor() {
    super("the workload did not answer in time");
    this.name = "UpstreamTimedOut";
  }
}

/** Errors of the workload not answering in time: a connect that timed out (undici's, or the system's). */
const TIMEOUT_CODES = new Set(["ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT"]);
const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "EAI_AGAIN"]);

/** undici's parsed response headers as a raw list; repeated headers stay repeated, in order. */
function flatHeaders(headers: IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === "string") raw.push(name, value);
    else for (const v of value) raw.push(name, v);
  }
  return raw;
}

type Checked = { ok: true; identity: Identity | null } | { ok: false; answer: ReturnType<typeof answerFor> };

/** What the proxy's handlers share: the options and the workload's address, and the open tunnels. */
interface ProxyState {
  readonly opts: ProxyOptions;
  readonly host: string;
  readonly port: number;
  readonly tunnels: Set<Duplex>;
}

export function createProxy(opts: ProxyOptions): Proxy {
  const p: ProxyState = {
    opts,
    host: opts.upstream.hostname.replace(/^\[|\]$/g, ""),
    port: opts.upstream.port === "" ? 80 : Number(opts.upstream.port),
    tunnels: new Set<Duplex>(),
  };
  return {
    onRequest: (req, res) => { onRequest(p, req, res); },
    onUpgrade: (req, socket, head) => { onUpgrade(p, req, socket, head); },
    tunnels: p.tunnels,
  };
}

function check(p: ProxyState, req: IncomingMessage): Checked {
  const path = targetPath(req.url);
  if (path === null) return { ok: false, answer: badRequestAnswer("the request target must be an absolute path such as /api/v0/items") };
  const repeated = repeatedHeader(req.rawHeaders, SINGLE_HEADERS);
  if (repeated === "authorization") return { ok: false, answer: badRequestAnswer("send a single Authorization header") };
  if (repeated === "host") return { ok: false, answer: badRequestAnswer("send a single Host header") };
  if (p.opts.decider === null) return { ok: true, identity: null };
  const d = p.opts.decider.decide({ method: req.method ?? "GET", path, authorization: req.headers.authorization });
  if (d.outcome !== "allow") return { ok: false, answer: answerFor(d) };
  return { ok: true, identity: d.identity };
}

function upstreamFailure(p: ProxyState, err: NodeJS.ErrnoException, timedOut = TIMEOUT_CODES.has(err.code ?? "")): 502 | 504 {
  const kind = timedOut ? "timeout" : CONNECT_CODES.has(err.code ?? "") ? "connect" : "reset";
  p.opts.metrics.upstreamErrors.inc({ kind });
  p.opts.logger.warn({ event: "upstream_error", kind, code: err.code }, timedOut ? "the workload did not answer in time" : `the workload could not be reached (${err.code ?? err.message})`);
  return timedOut ? 504 : 502;
}

/** The request's headers as the workload gets them. Through the pool a chunked body is chunked again by undici; an upgrade keeps its framing as sent. */
function workloadHeaders(p: ProxyState, req: IncomingMessage, identity: Identity | null, upgrade: boolean): string[] {
  return upstreamRequestHeaders(req.rawHeaders, {
    forwardAuthorization: p.opts.forwardAuthorization,
    identity,
    clientAddress: req.socket.remoteAddress,
    proto: "http",
    upgrade,
    rechunked: !upgrade,
  });
}

function onRequest(p: ProxyState, req: IncomingMessage, res: ServerResponse): void {
  const checked = check(p, req);
  if (p.opts.draining()) res.shouldKeepAlive = false;
  if (!checked.ok) {
    sendAnswer(req, res, checked.answer);
    return;
  }
  // The body's framing: a Content-Length is passed on as received; a chunked body goes
  // as a stream without Transfer-Encoding, which the client chunks again. No framing: no
  // body. Other transfer codings (gzip, chunked) are refused: chunked again, the workload
  // would get a body in a coding nothing tells it of.
  const transferEncoding = req.headers["transfer-encoding"];
  if (transferEncoding !== undefined && transferEncoding.trim().toLowerCase() !== "chunked") {
    sendAnswer(req, res, transferCodingAnswer(), true);
    return;
  }
  const hasBody = transferEncoding !== undefined || (req.headers["content-length"] ?? "0") !== "0";
  const headers = workloadHeaders(p, req, checked.identity, false);
  if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
  forward(p, req, res, headers, hasBody);
}

function forward(p: ProxyState, req: IncomingMessage, res: ServerResponse, headers: string[], hasBody: boolean): void {
  let controller: DispatchController | null = null;
  // Why the upstream request must stop, when that was decided before it reached a connection.
  let stopBefore: Error | null = null;
  // The client has its answer (or has gone): nothing more goes to it.
  let settled = false;
  const stop = (why: Error): void => {
    if (controller !== null) controller.abort(why);
    else stopBefore = why;
  };
  const onDrain = (): void => { controller?.resume(); };
  // --upstream-timeout covers everything before the answer's head: waiting for a pooled
  // connection, connecting, sending, and the workload's own time.
  const timer = setTimeout(() => {
    if (settled || res.headersSent) return;
    settled = true;
    sendAnswer(req, res, upstreamAnswer(upstreamFailure(p, Object.assign(new Error("upstream timeout"), { code: "ETIMEDOUT" }), true)), true);
    stop(new UpstreamTimedOut());
  }, p.opts.upstreamTimeoutMs);
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(c) {
      controller = c;
      if (stopBefore !== null) c.abort(stopBefore);
    },
    onResponseStart(c, statusCode, upstreamHeaders, statusMessage) {
      // Interim answers (103 Early Hints, 102) are not passed on: the client gets the final one.
      if (statusCode < 200) return;
      clearTimeout(timer);
      if (settled || res.destroyed) {
        c.abort(new ClientGone());
        return;
      }
      if (p.opts.draining()) res.shouldKeepAlive = false;
      res.writeHead(statusCode, statusMessage, clientResponseHeaders(flatHeaders(upstreamHeaders)));
    },
    onResponseData(c, chunk) {
      if (res.destroyed) {
        // A destroyed response never drains: pausing would hold the pooled connection for good.
        c.abort(new ClientGone());
        return;
      }
      if (!res.write(chunk)) {
        c.pause();
        res.once("drain", onDrain);
      }
    },
    onResponseEnd() {
      settled = true;
      res.end();
    },
    onResponseError(_c, err: NodeJS.ErrnoException) {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      if (err instanceof ClientGone) return;
      sendAnswer(req, res, upstreamAnswer(upstreamFailure(p, err)), true);
    },
  };
  // The client went away before the answer was complete: stop the upstream request, also
  // one still waiting for a pooled connection.
  res.on("close", () => {
    clearTimeout(timer);
    if (settled || res.writableFinished) return;
    settled = true;
    stop(new ClientGone());
  });
  try {
    // servername is only used for TLS; given, undici does not derive it from each Host header.
    const options: Dispatcher.DispatchOptions & { servername: string } = {
      path: req.url ?? "/", method: req.method as Dispatcher.HttpMethod, headers, body: hasBody ? req : null,
      // The timer above bounds the wait for the answer head; no second one in undici.
      headersTimeout: 0, bodyTimeout: 0, servername: p.host,
    };
    p.opts.pool.dispatch(options, handler);
  } catch (err) {
    clearTimeout(timer);
    settled = true;
    p.opts.logger.warn({ event: "upstream_error", err: (err as Error).message }, "the request could not be passed on");
    sendAnswer(req, res, upstreamAnswer(502), true);
  }
}

function onUpgrade(p: ProxyState, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on("error", () => socket.destroy());
  const checked = check(p, req);
  if (!checked.ok) {
    sendAnswerOnSocket(socket, checked.answer);
    return;
  }
  if (p.opts.draining()) {
    sendAnswerOnSocket(socket, { status: 503, headers: { "retry-after": "5" }, body: "" });
    return;
  }
  const headers = workloadHeaders(p, req, checked.identity, true);
  const up = httpRequest({ host: p.host, port: p.port, method: req.method, path: req.url, headers, setHost: false, agent: false });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    up.destroy(Object.assign(new Error("upstream timeout"), { code: "ETIMEDOUT" }));
  }, p.opts.upstreamTimeoutMs);
  socket.on("close", () => {
    clearTimeout(timer);
    up.destroy();
  });

  up.on("upgrade", (ures, usock: Socket, uhead: Buffer) => {
    clearTimeout(timer);
    if (socket.destroyed) {
      usock.destroy();
      return;
    }
    p.tunnels.add(socket);
    socket.on("close", () => p.tunnels.delete(socket));
    usock.on("error", () => socket.destroy());
    socket.on("error", () => usock.destroy());
    usock.on("close", () => socket.destroy());
    socket.on("close", () => usock.destroy());
    socket.write(rawHead(ures.statusCode ?? 101, ures.statusMessage, clientResponseHeaders(ures.rawHeaders, true)));
    if (uhead.length > 0) socket.write(uhead);
    if (head.length > 0) usock.write(head);
    usock.pipe(socket);
    socket.pipe(usock);
  });
  // The workload declined the upgrade: relay its answer and close.
  up.on("response", (ures) => {
    clearTimeout(timer);
    const h = clientResponseHeaders(ures.rawHeaders);
    h.push("connection", "close");
    socket.write(rawHead(ures.statusCode ?? 502, ures.statusMessage, h));
    ures.pipe(socket);
    ures.on("error", () => socket.destroy());
  });
  up.on("error", (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    if (!socket.destroyed) sendAnswerOnSocket(socket, upstreamAnswer(upstreamFailure(p, err, timedOut)));
  });
  up.end();
}

function rawHead(status: number, message: string | undefined, headers: readonly string[]): Buffer {
  const lines = [`HTTP/1.1 ${status} ${message ?? STATUS_CODES[status] ?? ""}`];
  for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i]!}: ${headers[i + 1]!}`);
  lines.push("", "");
  return Buffer.from(lines.join("\r\n"), "latin1");
}
