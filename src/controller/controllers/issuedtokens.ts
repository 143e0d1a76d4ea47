// The token service's records in the controller: IssuedTokens whose token
// expired are deleted (the bundle reconciler runs the clean-up per tenant, next
// to the revocations it takes from them), and a record turning revoked gets an
// audit line and an Event (the leader only; an informer handler).

import type { IssuedToken } from "../../api/types.generated.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { Logger } from "../../kube/logger.ts";
import { Resources } from "../../kube/resources.ts";
import { planIssuedTokenCleanup, revocationOf } from "../../model/issued-token.ts";

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
