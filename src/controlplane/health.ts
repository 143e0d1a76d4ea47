import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ManagedProcess } from "./process.ts";

export interface ClientTls {
  caPem: string;
  certPem?: string;
  keyPem?: string;
}

export interface HttpResult {
  status: number;
  body: string;
}

/** One GET with a short timeout; TLS is verified against the given CA. */
export function get(url: string, tls?: ClientTls, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const options = { method: "GET", timeout: timeoutMs };
    const req =
      parsed.protocol === "https:"
        ? httpsRequest(parsed, { ...options, ca: tls?.caPem, cert: tls?.certPem, key: tls?.keyPem })
        : httpRequest(parsed, options);
    req.on("timeout", () => {
      req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs}ms`));
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.end();
  });
}

export class StartupError extends Error {
  override readonly name = "StartupError";
}

function describeExit(proc: ManagedProcess, exit: { code: number | null; signal: string | null; error?: Error }): string {
  if (exit.error) return `${proc.name} could not be started: ${exit.error.message}`;
  return `${proc.name} exited (code ${exit.code ?? "none"}, signal ${exit.signal ?? "none"})`;
}

/**
 * Polls `url` until it answers 200, the deadline passes, or one of `watch`
 * exits. A failure names the endpoint, the last answer and the tail of the
 * watched processes' logs.
 */
export async function waitUntilHealthy(opts: {
  url: string;
  tls?: ClientTls;
  timeoutMs: number;
  watch: readonly ManagedProcess[];
  intervalMs?: number;
}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: string;
  for (;;) {
    const dead = opts.watch.find((p) => p.hasExited());
    if (dead) {
      const exit = await dead.exited;
      throw new StartupError(`${describeExit(dead, exit)} while waiting for ${opts.url}\n--- ${dead.logPath} (tail) ---\n${dead.tail()}`);
    }
    try {
      const res = await get(opts.url, opts.tls, 2000);
      if (res.status === 200) return;
      last = `HTTP ${res.status}: ${res.body.slice(0, 2000)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      const tails = opts.watch.map((p) => `--- ${p.logPath} (tail) ---\n${p.tail()}`).join("\n");
      throw new StartupError(`${opts.url} was not healthy within ${opts.timeoutMs}ms; last answer: ${last}\n${tails}`);
    }
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 100));
  }
}
