// Asking a verifier, as the benches that time revocations do: one request with a
// token, and polling until the verifier refuses it.

import { performance } from "node:perf_hooks";
import { answerCode, type HttpAnswer, type HttpProbe } from "../../src/demo/index.ts";

/** One request through the verifier; a kept-alive connection the server just closed is retried once. */
export async function ask(probe: HttpProbe, path: string, token: string): Promise<HttpAnswer> {
  try {
    return await probe.send({ path, token });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ECONNRESET" && code !== "EPIPE") throw error;
    return probe.send({ path, token });
  }
}

export interface RefusalPolling {
  path: string;
  /** A request every this many milliseconds from t0. */
  pollMs: number;
  /** Still accepted this long after t0 fails the run. */
  timeoutMs: number;
  /** Throws to stop (the bench was interrupted). */
  check?: () => void;
}

/**
 * Sends the token every pollMs from t0 until the verifier answers 401; returns the arrival
 * time of that answer and the requests sent. Anything but 200 before it, or a 401 of another
 * code than ERR_TOKEN_REVOKED, fails the run.
 */
export async function firstRefusal(probe: HttpProbe, token: string, t0: number, what: string, opts: RefusalPolling): Promise<{ t1: number; polls: number }> {
  for (let polls = 1; ; polls++) {
    const answer = await ask(probe, opts.path, token);
    const now = performance.now();
    if (answer.status === 401) {
      const code = answerCode(answer);
      if (code !== "ERR_TOKEN_REVOKED") throw new Error(`${what}: the verifier answered 401 ${String(code)}, expected ERR_TOKEN_REVOKED`);
      return { t1: now, polls };
    }
    if (answer.status !== 200) throw new Error(`${what}: the verifier answered ${answer.status} ${String(answerCode(answer))} while the revocation propagated`);
    if (now - t0 > opts.timeoutMs) throw new Error(`${what}: still accepted ${opts.timeoutMs} ms after the write`);
    opts.check?.();
    const next = t0 + polls * opts.pollMs;
    if (next > now) await new Promise((r) => setTimeout(r, next - now));
  }
}
