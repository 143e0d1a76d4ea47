// Which planned Events to record. An action Event (a key minted, a token issued)
// is recorded each time the action happens. An Event that reports a condition
// (its reason is a condition reason) is recorded only when the condition is new
// or says something new, so a resync of an unchanged problem writes nothing.

import type { KubeObject } from "../../kube/types.ts";
import { Reasons, type PlannedEvent, type Reason } from "../../model/reasons.ts";
import type { Condition } from "../../model/conditions.ts";
import type { EventRecorder } from "../runtime/events.ts";

export function isConditionReason(reason: Reason): boolean {
  return Reasons[reason].conditions.length > 0;
}

/** The events worth recording, given the conditions the object had before this reconcile. */
export function newsworthy(events: readonly PlannedEvent[], before: readonly Condition[] | undefined): PlannedEvent[] {
  const seen = new Set<string>();
  return events.filter((e) => {
    const id = `${e.reason}\u0000${e.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    if (!isConditionReason(e.reason)) return true;
    return !(before ?? []).some((c) => c.reason === e.reason && c.message === e.message);
  });
}

/** Records the events on `obj`. Recording never throws and never fails the reconcile. */
export function record(recorder: EventRecorder<Reason>, obj: KubeObject, events: readonly PlannedEvent[]): void {
  for (const e of events) void recorder.event(obj, e.type, e.reason, e.message);
}
