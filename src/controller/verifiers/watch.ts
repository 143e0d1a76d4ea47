// Which changes of a verifier report Lease are news to the controllers: a report that came,
// went, or enforces another generation. A heartbeat (spec.renewTime alone) is not; a verifier
// that stops beating ages out by time, which the waiting reconciles requeue for.

import type { WatchEventKind } from "../runtime/controller.ts";
import { VerifierReportAnnotations, type LeaseObject } from "../../model/verifier-report.ts";

export function reportChanged(kind: WatchEventKind, lease: LeaseObject, old?: LeaseObject): boolean {
  if (kind !== "update" || old === undefined) return true;
  const key = VerifierReportAnnotations.generation;
  return old.metadata.annotations?.[key] !== lease.metadata.annotations?.[key] || (old.spec?.renewTime === undefined) !== (lease.spec?.renewTime === undefined);
}
