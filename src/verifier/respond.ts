// Writing an Answer on an HTTP response, or on a raw socket (the upgrade path).

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { denyAnswer, unavailableAnswer, type Answer } from "./answers.ts";
import type { Decision } from "./decide.ts";

/** The answer to a decision that does not let the request through. */
export function answerFor(d: Exclude<Decision, { outcome: "allow" }>): Answer {
  return d.outcome === "deny" ? denyAnswer(d.error) : unavailableAnswer(d.code);
}

/** True while the request may still have body bytes on the wire. */
function bodyPending(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

export function sendAnswer(req: IncomingMessage, res: ServerResponse, answer: Answer, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // Do not read an unchecked upload to its end: answer and close the connection.
  if (close || bodyPending(req)) res.shouldKeepAlive = false;
  const body = Buffer.from(answer.body);
  res.writeHead(answer.status, { ...answer.headers, "content-length": String(body.length) });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** An answer written straight to a socket that asked for an upgrade; the socket is then closed. */
export function sendAnswerOnSocket(socket: Duplex, answer: Answer): void {
  const body = Buffer.from(answer.body);
  const head = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ""}`];
  for (const [k, v] of Object.entries(answer.headers)) head.push(`${k}: ${v}`);
  head.push(`content-length: ${body.length}`, "connection: close", "", "");
  if (socket.writable) socket.end(Buffer.concat([Buffer.from(head.join("\r\n"), "latin1"), body]));
  else socket.destroy();
}
