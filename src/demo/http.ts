// HTTP checks through a verifier: send a request with or without a bearer token, expect a
// status, wait for a status (polling, e.g. every 20 ms after a revocation) and measure when it
// came, read a Prometheus gauge. Used by the demo and by the end-to-end tests on kind.
//
// Tokens are sent, never printed: a request is described by the name the caller gives its
// token ("reporting's token, kid 1b2c3d4e").

import { Agent, request, type IncomingHttpHeaders } from "node:http";
import { DemoAbortedError, pause, throwIfAborted } from "./wait.ts";

export interface ProbeRequest {
  /** Default GET. */
  method?: string;
  /** Path and query, e.g. /api/v0/profiles/42. */
  path: string;
  /** Sent as `Authorization: Bearer <token>`; absent: no Authorization header. */
  token?: string | undefined;
  /** How the token is named in descriptions, e.g. "reporting's token (kid 1b2c3d4e)". */
  tokenLabel?: string | undefined;
  /** Extra request headers. */
  headers?: Readonly<Record<string, string>>;
  body?: string;
}

export interface HttpAnswer {
  status: number;
  /** Milliseconds from sending the request to the end of the answer. */
  ms: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** "GET /api/v0/profiles/42 with reporting's token" / "… without a token". */
export function describeRequest(req: ProbeRequest): string {
  const who = req.token === undefined ? "without a token" : `with ${req.tokenLabel ?? "a token"}`;
  return `${req.method ?? "GET"} ${req.path} ${who}`;
}

/** The verifier's error code of a refusal (its JSON body's `code`), if the answer has one. */
export function answerCode(answer: HttpAnswer): string | undefined {
  if (answer.status < 300 || !(answer.headers["content-type"] ?? "").includes("json")) return undefined;
  try {
    const code = (JSON.parse(answer.body) as { code?: unknown }).code;
    return typeof code === "string" ? code : undefined;
  } catch {
    return undefined;
  }
}

/** "401 ERR_TOKEN_REVOKED", or just the status when there is no code. */
export function describeAnswer(answer: HttpAnswer): string {
  const code = answerCode(answer);
  return code === undefined ? String(answer.status) : `${answer.status} ${code}`;
}

/** Round to whole milliseconds below 10 s, for timelines. */
function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

/** Sends requests to one server over kept-alive connections. close() releases them. */
export class HttpProbe {
  readonly baseUrl: string;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 4 });
  readonly #timeoutMs: number;

  constructor(baseUrl: string, opts: { timeoutMs?: number } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async send(req: ProbeRequest, signal?: AbortSignal): Promise<HttpAnswer> {
    throwIfAborted(signal);
    const url = new URL(this.baseUrl + req.path);
    const headers: Record<string, string> = { ...req.headers };
    if (req.token !== undefined) headers.authorization = `Bearer ${req.token}`;
    if (req.body !== undefined) headers["content-type"] ??= "application/json";
    const started = performance.now();
    return await new Promise((resolve, reject) => {
      const r = request(
        url,
        { method: req.method ?? "GET", headers, agent: this.#agent, timeout: this.#timeoutMs, ...(signal === undefined ? {} : { signal }) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
          });
        },
      );
      r.on("timeout", () => r.destroy(new Error(`${req.method ?? "GET"} ${url.href}: no answer within ${this.#timeoutMs} ms`)));
      r.on("error", (error) => {
        reject(signal?.aborted === true ? new DemoAbortedError() : error);
      });
      r.end(req.body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

export interface StatusCheck {
  ok: boolean;
  expected: number;
  answer: HttpAnswer;
  /** "GET /api/v0/profiles/42 with reporting's token → 200, 3 ms" (and "expected 403" when not). */
  text: string;
}

/** One request, and whether it answered `expected`. */
export async function expectStatus(probe: HttpProbe, req: ProbeRequest, expected: number, signal?: AbortSignal): Promise<StatusCheck> {
  const answer = await probe.send(req, signal);
  const ok = answer.status === expected;
  const text = `${describeRequest(req)} → ${describeAnswer(answer)}${ok ? "" : ` (expected ${expected})`}, ${ms(answer.ms)}`;
  return { ok, expected, answer, text };
}

export interface WaitForStatusOptions {
  timeoutMs: number;
  /** Pause between requests (default 20 ms). */
  intervalMs?: number;
  /** Count only an answer with this error code (the JSON body's `code`) as the expected one. */
  code?: string | undefined;
  /** The moment (performance.now()) elapsed time counts from; default the first request. */
  since?: number;
  signal?: AbortSignal | undefined;
}

export interface StatusWait {
  ok: boolean;
  /** From `since` to the end of the first answer with the expected status (or to giving up). */
  elapsedMs: number;
  attempts: number;
  last: HttpAnswer | undefined;
  /** The last transport error, when the last attempt had no answer. */
  lastError: string | undefined;
}

/** Repeats a request every intervalMs until it answers `expected` (with `code`, if given) or the deadline passes. */
export async function waitForStatus(probe: HttpProbe, req: ProbeRequest, expected: number, opts: WaitForStatusOptions): Promise<StatusWait> {
  const since = opts.since ?? performance.now();
  const deadline = performance.now() + opts.timeoutMs;
  let attempts = 0;
  let last: HttpAnswer | undefined;
  let lastError: string | undefined;
  for (;;) {
    attempts++;
    try {
      last = await probe.send(req, opts.signal);
      lastError = undefined;
      if (last.status === expected && (opts.code === undefined || answerCode(last) === opts.code)) return { ok: true, elapsedMs: performance.now() - since, attempts, last, lastError };
    } catch (error) {
      if (error instanceof DemoAbortedError) throw error;
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (performance.now() >= deadline) return { ok: false, elapsedMs: performance.now() - since, attempts, last, lastError };
    await pause(opts.intervalMs ?? 20, opts.signal);
  }
}

/**
 * The value of an unlabelled sample `name` in a Prometheus text exposition, or undefined.
 * With `labels`, the sample whose label set contains them.
 */
export function parseMetric(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (m?.[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const l of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) found[l[1]!] = l[2]!.replace(/\\(.)/g, "$1");
    if (!Object.entries(labels).every(([k, v]) => found[k] === v)) continue;
    const value = Number(m[4]);
    if (!Number.isNaN(value)) return value;
  }
  return undefined;
}

/** GETs a /metrics endpoint and returns the value of `name` (undefined if absent). */
export async function readMetric(probe: HttpProbe, name: string, labels: Readonly<Record<string, string>> = {}, signal?: AbortSignal): Promise<number | undefined> {
  const answer = await probe.send({ path: "/metrics" }, signal);
  if (answer.status !== 200) throw new Error(`GET ${probe.baseUrl}/metrics answered ${answer.status}`);
  return parseMetric(answer.body, name, labels);
}
