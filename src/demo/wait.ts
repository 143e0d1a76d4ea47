// Waiting for a condition with a deadline, interruptible by Ctrl-C (an AbortSignal).

import { formatForPeople } from "./timeline.ts";

/** A wait passed its deadline; the message says what was awaited and what was last seen. */
export class WaitTimeoutError extends Error {
  override readonly name = "WaitTimeoutError";
  readonly code = "ERR_DEMO_TIMEOUT";
}

/** The demo was interrupted (Ctrl-C) while waiting. */
export class DemoAbortedError extends Error {
  override readonly name = "DemoAbortedError";
  readonly code = "ERR_DEMO_ABORTED";
  constructor() {
    super("interrupted");
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new DemoAbortedError();
}

/** Resolves after `ms`, or rejects with DemoAbortedError as soon as `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new DemoAbortedError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new DemoAbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export type Probe<T> = { done: true; value: T } | { done: false; state: string };

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between probes (default 100 ms). */
  intervalMs?: number;
  signal?: AbortSignal | undefined;
  /** Appended to the timeout message: where to look next (a log file, a command). */
  hint?: string | undefined;
  /** Errors of the probe that end the wait at once (default: none but an interruption). */
  fatal?: (error: unknown) => boolean;
}

/**
 * Calls `probe` until it reports done, and resolves its value. A probe that throws counts as
 * not done (its message is the state), unless `fatal` says the error ends the wait. Past the
 * deadline, throws WaitTimeoutError naming `what` and the last state seen.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<Probe<T>>, opts: WaitOptions): Promise<T> {
  const deadline = performance.now() + opts.timeoutMs;
  let state: string;
  for (;;) {
    throwIfAborted(opts.signal);
    try {
      const result = await probe();
      if (result.done) return result.value;
      state = result.state;
    } catch (error) {
      if (error instanceof DemoAbortedError || opts.fatal?.(error) === true) throw error;
      state = error instanceof Error ? error.message : String(error);
    }
    if (performance.now() >= deadline) {
      throw new WaitTimeoutError(`${what}: not within ${formatForPeople(opts.timeoutMs)}; last seen: ${state}${opts.hint === undefined ? "" : `\n${opts.hint}`}`);
    }
    await pause(opts.intervalMs ?? 100, opts.signal);
  }
}
