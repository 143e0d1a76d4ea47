// What the verifiers of one tenant say, summed up, without I/O (the controller's gate and
// metrics and `kubectl keyward status` alike): which are live (a heartbeat
// within the TTL), which of those enforce the tenant's current bundle generation (SYNCED) and
// which an older one (STALE), the oldest generation still enforced, and when the next live
// verifier ages out. The reports are the tenant's word (a Lease it may write itself): they can
// make activation wait, or claim a generation, never reach another tenant.

import type { VerifierReport } from "./verifier-report.ts";

export type VerifierSync = "SYNCED" | "STALE" | "DEAD";

export interface VerifierRow {
  pod: string;
  /** The Lease's name. */
  lease: string;
  version: string;
  generation: number | null;
  sync: VerifierSync;
  /** Last heartbeat (ms), null when the Lease has none. */
  renewedMs: number | null;
  /** STALE: how long the current generation has been out without it (ms); else null. */
  behindMs: number | null;
}

export interface TenantVerifiers {
  tenant: string;
  /** The generation of the tenant's bundle; null when it has none (or it cannot be read). */
  current: number | null;
  live: number;
  synced: number;
  stale: number;
  dead: number;
  /** The lowest generation a live verifier enforces (null: none live, or one has no bundle yet). */
  oldestGeneration: number | null;
  /** Whether a live verifier has no bundle at all. */
  liveWithoutBundle: boolean;
  /** When the next live verifier ages out unless it renews (ms); null when none is live. */
  nextExpiryMs: number | null;
  /** Sorted by pod. */
  rows: VerifierRow[];
}

export interface AggregateInput {
  tenant: string;
  reports: readonly VerifierReport[];
  /** The tenant bundle's generation, and since when it is the current one (ms). */
  current: { generation: number; sinceMs: number } | null;
  nowMs: number;
  /** A verifier without a heartbeat for this long is dead; null: each report's own leaseDurationSeconds. */
  ttlMs: number | null;
}

export function aggregateVerifiers(input: AggregateInput): TenantVerifiers {
  const { current, nowMs, ttlMs } = input;
  const rows: VerifierRow[] = [];
  let oldest: number | null = null;
  let liveWithoutBundle = false;
  let nextExpiryMs: number | null = null;
  const counts = { live: 0, synced: 0, stale: 0, dead: 0 };
  for (const r of input.reports) {
    const ttl = ttlMs ?? r.leaseDurationMs;
    const expiresAt = r.renewedMs === null || ttl === null ? null : r.renewedMs + ttl;
    const live = expiresAt !== null && expiresAt > nowMs;
    let sync: VerifierSync;
    if (!live) sync = "DEAD";
    else if (current !== null && r.generation !== null && r.generation >= current.generation) sync = "SYNCED";
    else sync = current === null && r.generation !== null ? "SYNCED" : "STALE";
    counts[sync === "DEAD" ? "dead" : sync === "SYNCED" ? "synced" : "stale"]++;
    if (live) {
      counts.live++;
      if (r.generation === null) liveWithoutBundle = true;
      else if (oldest === null || r.generation < oldest) oldest = r.generation;
      if (nextExpiryMs === null || expiresAt < nextExpiryMs) nextExpiryMs = expiresAt;
    }
    rows.push({
      pod: r.pod,
      lease: r.name,
      version: r.version,
      generation: r.generation,
      sync,
      renewedMs: r.renewedMs,
      behindMs: sync === "STALE" && current !== null ? Math.max(0, nowMs - current.sinceMs) : null,
    });
  }
  rows.sort((a, b) => a.pod.localeCompare(b.pod) || a.lease.localeCompare(b.lease));
  return {
    tenant: input.tenant,
    current: current?.generation ?? null,
    ...counts,
    oldestGeneration: liveWithoutBundle ? null : oldest,
    liveWithoutBundle,
    nextExpiryMs,
    rows,
  };
}

/** Whether every live verifier enforces `generation` or a later one (vacuously true when none is live). */
export function allLiveEnforce(view: TenantVerifiers, generation: number): boolean {
  return view.live === 0 || (!view.liveWithoutBundle && view.oldestGeneration !== null && view.oldestGeneration >= generation);
}
