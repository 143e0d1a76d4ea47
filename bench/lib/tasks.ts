// Small helpers the benches share for creating many objects and waiting on them.

import { performance } from "node:perf_hooks";
import type { Condition } from "../../src/api/index.ts";

/** Runs `fn(i)` for i in [0, count) with at most `limit` calls in flight. */
export async function pool(count: number, limit: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** Whether an object's condition `type` (default Ready) is True. */
export function ready(obj: { status?: { conditions?: Condition[] } } | undefined, type = "Ready"): boolean {
  return obj?.status?.conditions?.some((c) => c.type === type && c.status === "True") === true;
}

/** Waits until `test` holds, checking every `intervalMs`; `check` throws to stop (the bench was interrupted). */
export type Until = (what: string, test: () => boolean | Promise<boolean>, intervalMs?: number, timeoutMs?: number) => Promise<void>;

/** An Until with these defaults: a check every 100 ms, a failure after `timeoutMs`. */
export function waiter(defaultTimeoutMs: number, check: () => void = () => undefined): Until {
  return async (what, test, intervalMs = 100, timeoutMs = defaultTimeoutMs) => {
    const deadline = performance.now() + timeoutMs;
    while (!(await test())) {
      check();
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  };
}
