// The client-credentials controller (with the token service): each ApiKey's
// OAuth 2.0 client-credentials Secrets follow its annotation
// keyward.dev/client-credentials (planClientCredentials). Keyed "namespace/apikey".

import type { ApiKey } from "../../api/types.generated.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { Logger } from "../../kube/logger.ts";
import { Resources } from "../../kube/resources.ts";
import { parseKey } from "../../kube/types.ts";
import { clientCredentialsSecretName, clientSecretHashSecretName } from "../../model/client-credentials.ts";
import { API_KEY_LABEL, CLIENT_CREDENTIALS_SECRET_TYPE, CLIENT_SECRET_HASH_SECRET_TYPE } from "../../model/names.ts";
import type { SecretObject } from "../../model/signing-key/secret.ts";
import { planClientCredentials, type ClientCredentialsPlan } from "../clientcredentials/plan.ts";
import type { ReconcileFunc } from "../runtime/controller.ts";
import { Outcome } from "../runtime/outcome.ts";

/** Read access to one kind by namespace and name; the controller's Store fits. */
export interface ObjectLookup<T> {
  get(namespace: string | undefined, name: string): T | undefined;
}

/** Where the controller records the audit Event; the runtime's EventRecorder fits. */
export interface AuditEvents {
  normal(obj: ApiKey, reason: "ClientSecretMinted", message: string): Promise<void>;
}

/** A client-credentials Secret name is taken by a Secret that is not the ApiKey's. Retried with back-off. */
export class ClientCredentialsConflictError extends Error {
  readonly code = "ERR_CLIENT_CREDENTIALS_CONFLICT";
  constructor(message: string) {
    super(message);
    this.name = "ClientCredentialsConflictError";
  }
}

/**
 * Brings the ApiKey's client-credentials Secrets in line with its annotation
 * (planClientCredentials), reading them from `secrets` (a cache that holds
 * keyward's Secrets). Returns the plan it applied; a conflict is returned, not
 * thrown, for the caller's condition or Event.
 */
export async function applyClientCredentials(
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
 * the Secrets it owns. A conflict is logged and retried with back-off.
 */
export function clientCredentialsReconciler(deps: ClientCredentialsReconcilerDeps): ReconcileFunc {
  return async (key) => {
    const { namespace, name } = parseKey(key);
    const apiKey = deps.apiKeys.get(namespace, name);
    if (apiKey === undefined) return Outcome.done();
    const plan = await applyClientCredentials(deps.client, deps.secrets, apiKey, deps.log, deps.events);
    if (plan.conflict !== null) throw new ClientCredentialsConflictError(plan.conflict);
    return Outcome.done();
  };
}
