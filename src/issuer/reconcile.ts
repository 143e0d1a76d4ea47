// What the controller (its leader) runs for the token service: the client
// credentials of each ApiKey, the clean-up of expired IssuedTokens, and the
// audit of revocations.

import type { ApiKey, IssuedToken } from "../api/types.generated.ts";
import { API_KEY_LABEL, type SecretObject } from "../controller/apikey/index.ts";
import type { KubeClient } from "../kube/client.ts";
import type { Logger } from "../kube/logger.ts";
import { Resources } from "../kube/resources.ts";
import {
  CLIENT_CREDENTIALS_SECRET_TYPE,
  CLIENT_SECRET_HASH_SECRET_TYPE,
  clientCredentialsSecretName,
  clientSecretHashSecretName,
  planClientCredentials,
  type ClientCredentialsPlan,
} from "./client-credentials.ts";
import type { ObjectLookup } from "./cache.ts";
import type { AuditEvents } from "./issue.ts";
import { ISSUED_TOKENS, planIssuedTokenCleanup, revocationOf } from "./issued-token.ts";

/**
 * Brings the ApiKey's client-credentials Secrets in line with its annotation
 * (planClientCredentials), reading them from `secrets` (a cache that holds
 * keyward's Secrets). Returns the plan it applied; a conflict is returned, not
 * thrown, for the caller's condition or Event.
 */
export async function reconcileClientCredentials(
  client: KubeClient,
  secrets: ObjectLookup<SecretObject>,
  apiKey: ApiKey,
  log: Logger,
  events: AuditEvents | null = null,
): Promise<ClientCredentialsPlan> {
  const ns = apiKey.metadata.namespace ?? "";
  const name = apiKey.metadata.name ?? "";
  const plan = planClientCredentials({
    apiKey,
    credentials: secrets.get(ns, clientCredentialsSecretName(name)),
    hash: secrets.get(ns, clientSecretHashSecretName(name)),
  });
  for (const action of plan.actions) {
    if (action.verb === "create") await client.create(Resources.secrets, action.secret);
    else if (action.verb === "replace") await client.replace(Resources.secrets, action.secret);
    else await client.delete(Resources.secrets, { namespace: action.namespace, name: action.name }, { ignoreNotFound: true, preconditions: { uid: action.uid } });
  }
  if (plan.minted) {
    log.info({ audit: "client_secret_minted", tenant: ns, apiKey: name, secret: clientCredentialsSecretName(name) }, "OAuth 2.0 client secret minted");
    if (events !== null) void events.normal(apiKey, "ClientSecretMinted", `a new OAuth 2.0 client secret for client ${ns}/${name} is in Secret ${ns}/${clientCredentialsSecretName(name)}`);
  }
  return plan;
}

/** Deletes the IssuedTokens whose token expired (planIssuedTokenCleanup); returns when to run again (null: no record will expire). */
export async function deleteExpiredIssuedTokens(client: KubeClient, records: readonly IssuedToken[], now: Date): Promise<Date | null> {
  const plan = planIssuedTokenCleanup(records, now);
  for (const r of plan.expired) {
    await client.delete(ISSUED_TOKENS, { namespace: r.namespace, name: r.name }, { ignoreNotFound: true, preconditions: { uid: r.uid } });
  }
  return plan.nextAt;
}

/** For an IssuedToken informer's update handler: an audit line and an Event when a record becomes revoked. */
export function auditRevocation(before: IssuedToken | null, after: IssuedToken, log: Logger, events: AuditEvents | null): void {
  const revoked = revocationOf(before, after);
  if (revoked === null) return;
  log.info({ audit: "token_revoked", ...revoked, issuedToken: after.metadata.name }, "issued token revoked");
  if (events !== null) {
    void events.normal(after, "TokenRevoked", `token ${revoked.jti} of ApiKey ${revoked.tenant}/${revoked.apiKey} (key ${revoked.kid}, issued to ${revoked.issuedBy}) revoked: it goes on the tenant's revocation list`);
  }
}

/** The ApiKey key ("namespace/name") a client-credentials Secret belongs to; none for any other Secret. */
export function clientCredentialsOwnerKeys(secret: SecretObject): string[] {
  if (secret.type !== CLIENT_CREDENTIALS_SECRET_TYPE && secret.type !== CLIENT_SECRET_HASH_SECRET_TYPE) return [];
  const apiKey = secret.metadata.labels?.[API_KEY_LABEL];
  const ns = secret.metadata.namespace;
  return apiKey === undefined || ns === undefined ? [] : [`${ns}/${apiKey}`];
}

export interface ClientCredentialsReconcilerDeps {
  client: KubeClient;
  apiKeys: ObjectLookup<ApiKey>;
  secrets: ObjectLookup<SecretObject>;
  log: Logger;
  events: AuditEvents | null;
}

/**
 * A reconcile function for the controller runtime, keyed "namespace/apikey"
 * (the leader runs it): the ApiKey's client-credentials Secrets follow its
 * annotation. A deleted ApiKey needs nothing: the garbage collector removes
 * the Secrets it owns. A conflict is logged and retried with backoff.
 */
export function clientCredentialsReconciler(deps: ClientCredentialsReconcilerDeps): (key: string) => Promise<undefined> {
  return async (key) => {
    const slash = key.indexOf("/");
    const apiKey = deps.apiKeys.get(key.slice(0, slash), key.slice(slash + 1));
    if (apiKey === undefined) return undefined;
    const plan = await reconcileClientCredentials(deps.client, deps.secrets, apiKey, deps.log, deps.events);
    if (plan.conflict !== null) throw new Error(plan.conflict);
    return undefined;
  };
}
