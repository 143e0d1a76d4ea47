// The token service's records in the controller: IssuedTokens whose token
// expired are deleted (the bundle reconciler runs the clean-up per tenant, next
// to the revocations it takes from them), a record turning revoked gets an
// audit line and an Event (the leader only; an informer handler), and a revoked
// record's status says when it was revoked and when every live verifier of the
// tenant enforced it (the issuedtoken controller, keyed by record).

import type { IssuedToken } from "../../api/types.generated.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { Logger } from "../../kube/logger.ts";
import { Resources } from "../../kube/resources.ts";
import { objectKey } from "../../kube/types.ts";
import { planIssuedTokenCleanup, revocationOf, revocationsFromIssuedTokens } from "../../model/issued-token.ts";
import type { ReconcileFunc, WatchSpec } from "../runtime/controller.ts";
import { Outcome } from "../runtime/outcome.ts";
import { planIssuedTokenStatus } from "../verifiers/revocation.ts";
import { reportChanged } from "../verifiers/watch.ts";
import { delayUntil, FieldManagers, now, type ControllerContext, type Stores } from "./context.ts";
import { enforcementLookup } from "./enforcement.ts";
import { writeStatus, type StatusPart } from "./writes.ts";

/** Whether a revoked IssuedToken waits for its revokedAt or for every live verifier to enforce its revocation. */
export function issuedRevocationUnenforced(t: IssuedToken): boolean {
  return t.spec.revoked === true && t.status?.revocationEnforced === undefined && t.metadata.deletionTimestamp === undefined;
}

/**
 * When each revoked IssuedToken not enforced yet was revoked (ms), for the pending gauge. A
 * record whose token is past the verifiers' leeway is left out: no bundle lists it any more,
 * and it is deleted.
 */
export function issuedRevocationsPendingSince(records: readonly IssuedToken[], at: Date): number[] {
  return records.flatMap((t) => {
    if (!issuedRevocationUnenforced(t) || t.status?.revokedAt === undefined || revocationsFromIssuedTokens([t], at).length === 0) return [];
    return [Date.parse(t.status.revokedAt)].filter(Number.isFinite);
  });
}

/**
 * What wakes the issuedtoken controller: a revoked record; a bundle or a verifier that now
 * enforces another generation, for the records of its tenant still waiting. A record not
 * revoked has no status to write: its events are dropped.
 */
export function issuedTokenWatches(stores: Pick<Stores, "issuedTokens" | "configMaps" | "bundleSegments">, verifiers?: ControllerContext["verifiers"]): WatchSpec[] {
  const records = stores.issuedTokens;
  if (records === undefined) return [];
  const waiting = (namespace: string | undefined): string[] => records.list(namespace).filter(issuedRevocationUnenforced).map(objectKey);
  return [
    ...records.watchSpecs(undefined, (_kind, t) => t.spec.revoked === true),
    ...stores.configMaps.watchSpecs((cm) => waiting(cm.metadata.namespace)),
    ...stores.bundleSegments.watchSpecs((cm) => waiting(cm.metadata.namespace)),
    ...(verifiers?.leases.watchSpecs((lease) => waiting(lease.metadata.namespace), reportChanged) ?? []),
  ];
}

/**
 * The status of a revoked IssuedToken (planIssuedTokenStatus): one write when it changes,
 * none at rest. Looked at again when the next live verifier could age out while it waits.
 */
export function issuedTokenReconciler(ctx: ControllerContext): ReconcileFunc {
  return async (key): Promise<Outcome> => {
    const records = ctx.stores.issuedTokens;
    const record = records?.getKey(key);
    if (records === undefined || record === undefined) return Outcome.done();
    const plan = planIssuedTokenStatus(record, enforcementLookup(ctx, record.metadata.namespace ?? ""), now(ctx));
    // The controller is the status's one writer: revokedAt and revocationEnforced, no conditions.
    const part: StatusPart = { fields: { ...plan.status }, conditionTypes: [], conditions: [] };
    const wrote = await writeStatus(ctx, Resources.issuedTokens, records, record, part, FieldManagers.issuedTokenStatus);
    // Observed once: a write refused (a conflict) is measured again on the retry.
    if (wrote && plan.enforcedSeconds !== null) ctx.metrics.revocationEnforced("issuedToken", plan.enforcedSeconds);
    return Outcome.requeueAfter(delayUntil(ctx, plan.recheckAt));
  };
}

/** Where the audit Event goes; the runtime's EventRecorder fits. */
export interface RevocationEvents {
  normal(obj: IssuedToken, reason: "TokenRevoked", message: string): Promise<void>;
}

/** Deletes the IssuedTokens whose token expired (planIssuedTokenCleanup); returns when to run again (null: no record will expire). */
export async function deleteExpiredIssuedTokens(client: KubeClient, records: readonly IssuedToken[], now: Date): Promise<Date | null> {
  const plan = planIssuedTokenCleanup(records, now);
  for (const r of plan.expired) {
    await client.delete(Resources.issuedTokens, { namespace: r.namespace, name: r.name }, { ignoreNotFound: true, preconditions: { uid: r.uid } });
  }
  return plan.nextAt;
}

/** For an IssuedToken informer's update handler: an audit line and an Event when a record becomes revoked. */
export function auditRevocation(before: IssuedToken | null, after: IssuedToken, log: Logger, events: RevocationEvents | null): void {
  const revoked = revocationOf(before, after);
  if (revoked === null) return;
  log.info({ audit: "token_revoked", ...revoked, issuedToken: after.metadata.name }, "issued token revoked");
  if (events !== null) {
    void events.normal(after, "TokenRevoked", `token ${revoked.jti} of ApiKey ${revoked.tenant}/${revoked.apiKey} (key ${revoked.kid}, issued to ${revoked.issuedBy}) revoked: it goes on the tenant's revocation list`);
  }
}
