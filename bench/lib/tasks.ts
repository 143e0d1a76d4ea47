// Small helpers the benches share for creating many objects and waiting on them.

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
