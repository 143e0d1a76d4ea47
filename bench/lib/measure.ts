// Throughput measurement for benches: run a function in a loop for a fixed wall
// time after a warm-up, and report operations per second.

import { readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { performance } from "node:perf_hooks";

export interface Rate {
  opsPerSecond: number;
  iterations: number;
  seconds: number;
}

const BATCH = 64;

/** Calls `fn(i)` with i = 0, 1, 2, … for `warmupMs`, then measures it for `durationMs`. */
export function rate(fn: (i: number) => void, durationMs = 600, warmupMs = 150): Rate {
  let i = 0;
  for (const [ms, measured] of [[warmupMs, false], [durationMs, true]] as const) {
    const start = performance.now();
    const first = i;
    let now = start;
    while (now - start < ms) {
      for (let b = 0; b < BATCH; b++) fn(i++);
      now = performance.now();
    }
    if (measured) {
      const seconds = (now - start) / 1000;
      return { opsPerSecond: seconds > 0 ? (i - first) / seconds : 0, iterations: i - first, seconds };
    }
  }
  throw new Error("unreachable");
}

/** rate for an asynchronous function, awaited one call at a time. */
export async function rateAsync(fn: (i: number) => Promise<unknown>, durationMs = 600, warmupMs = 150): Promise<Rate> {
  let i = 0;
  for (const [ms, measured] of [[warmupMs, false], [durationMs, true]] as const) {
    const start = performance.now();
    const first = i;
    let now = start;
    while (now - start < ms) {
      for (let b = 0; b < BATCH; b++) await fn(i++);
      now = performance.now();
    }
    if (measured) {
      const seconds = (now - start) / 1000;
      return { opsPerSecond: seconds > 0 ? (i - first) / seconds : 0, iterations: i - first, seconds };
    }
  }
  throw new Error("unreachable");
}

export interface Machine {
  nproc: number;
  cpu: string;
  node: string;
}

/** The machine a bench runs on: usable CPUs (as `nproc` counts them), CPU model, Node.js version. */
export function machine(): Machine {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"));
    if (line !== undefined) cpu = line.slice(line.indexOf(":") + 1).trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return { nproc: availableParallelism(), cpu, node: process.version };
}

/** USER_HZ of /proc/<pid>/stat times: 100 on every Linux Node.js supports. */
export const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system, in clock ticks) a process has used; 0 where /proc is missing. */
export function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(after[11]) + Number(after[12]);
  } catch {
    return 0;
  }
}

/** CPU seconds (user + system) a process has used so far (Linux /proc); 0 where /proc is missing. */
export function cpuSeconds(pid: number): number {
  return processTicks(pid) / CLOCK_TICKS_PER_SECOND;
}

/** A field of /proc/<pid>/status in KiB (VmRSS, VmHWM, RssAnon, …); NaN when it is missing. */
export function statusKiB(pid: number, field: string): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? Number.NaN : Number(m[1]);
}

/** The nearest-rank percentile `q` (0–1) of ascending `sorted`; NaN when it is empty. */
export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}
