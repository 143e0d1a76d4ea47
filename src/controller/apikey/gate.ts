// The activation gate: a prepared key becomes active as soon as every live verifier of its
// tenant enforces a bundle generation that holds it, or once prePublish has passed, whichever
// comes first. prePublish is the upper bound, so a dead or frozen sidecar (or a tenant's forged
// report) can delay a rotation by prePublish at most, never stall it. Pure: the caller gives
// the tenant's verifiers and the first generation that holds the key.

import { allLiveEnforce, type TenantVerifiers } from "../../model/verifier-sync.ts";

export type ActivationGate =
  /** No live verifier reports: prePublish alone decides, as without reports. */
  | { kind: "prePublish" }
  /** Every live verifier enforces `generation` or later, which holds the key. */
  | { kind: "held"; live: number; generation: number }
  /** Some live verifier does not enforce a generation that holds the key yet (`generation` null: no bundle holds it yet). */
  | { kind: "waiting"; live: number; behind: number; generation: number | null; recheckAt: Date | null };

export type GateOf = (kid: string) => ActivationGate;

/** Without verifier reports: prePublish decides. */
export const PRE_PUBLISH_ONLY: GateOf = () => ({ kind: "prePublish" });

/**
 * The gate of one prepared key. `view`: the tenant's verifiers (null: reports are not read);
 * `holding`: the first bundle generation known to hold the key, null when none does yet.
 */
export function activationGate(view: TenantVerifiers | null, holding: number | null): ActivationGate {
  if (view === null || view.live === 0) return { kind: "prePublish" };
  const recheckAt = view.nextExpiryMs === null ? null : new Date(view.nextExpiryMs);
  if (holding === null) return { kind: "waiting", live: view.live, behind: view.live, generation: null, recheckAt };
  if (allLiveEnforce(view, holding)) return { kind: "held", live: view.live, generation: holding };
  const behind = view.rows.filter((r) => r.sync !== "DEAD" && (r.generation === null || r.generation < holding)).length;
  return { kind: "waiting", live: view.live, behind, generation: holding, recheckAt };
}
