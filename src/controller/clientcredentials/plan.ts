// What the controller writes so that an ApiKey's OAuth 2.0 client credentials
// follow its annotation keyward.dev/client-credentials (the format is in
// src/model/client-credentials.ts): mint a client secret into the workload's
// Secret and its SHA-256 into the Secret the token service reads; delete both
// when the annotation goes. Pure.

import type { ApiKey } from "../../api/types.generated.ts";
import { CLIENT_SECRET, clientCredentialsEnabled, clientCredentialsSecret, clientIdOf, clientSecretHashSecret, hashClientSecret, newClientSecret, readClientSecretHash, unb64 } from "../../model/client-credentials.ts";
import { isControlledBy, type SecretObject } from "../../model/signing-key/secret.ts";
import { CLIENT_CREDENTIALS_ANNOTATION, CLIENT_CREDENTIALS_SECRET_TYPE, CLIENT_ID_KEY, CLIENT_SECRET_HASH_SECRET_TYPE, CLIENT_SECRET_KEY } from "../../model/names.ts";

export type ClientCredentialsAction =
  | { verb: "create"; secret: SecretObject }
  /** Replace the Secret that exists (its resourceVersion is set, so a concurrent change conflicts). */
  | { verb: "replace"; secret: SecretObject }
  | { verb: "delete"; namespace: string; name: string; uid: string };

export interface ClientCredentialsPlan {
  actions: ClientCredentialsAction[];
  /** Set when a Secret of one of the two names exists and is not the ApiKey's: nothing is written. Names the Secret and the fix. */
  conflict: string | null;
  /** Whether a new client secret was minted (an audit line and an Event are due, never with the secret). */
  minted: boolean;
}

export interface PlanClientCredentialsInput {
  apiKey: ApiKey;
  /** <apikey>-client-credentials, if it exists. */
  credentials: SecretObject | undefined;
  /** <apikey>-client-credentials-hash, if it exists. */
  hash: SecretObject | undefined;
  /** Source of new client secrets (default newClientSecret). */
  newSecret?: () => string;
}

/**
 * What the controller's leader writes so that the ApiKey's client credentials
 * match its annotation. Pure; level-based: apply the actions, and plan again
 * on the next change.
 */
export function planClientCredentials(input: PlanClientCredentialsInput): ClientCredentialsPlan {
  const { apiKey } = input;
  const uid = apiKey.metadata.uid ?? "";
  const ns = apiKey.metadata.namespace ?? "";
  const ours = (s: SecretObject | undefined, type: string): boolean => s !== undefined && s.type === type && isControlledBy(s.metadata, uid);
  const credsOurs = ours(input.credentials, CLIENT_CREDENTIALS_SECRET_TYPE);
  const hashOurs = ours(input.hash, CLIENT_SECRET_HASH_SECRET_TYPE);
  const del = (s: SecretObject): ClientCredentialsAction => ({ verb: "delete", namespace: ns, name: s.metadata.name ?? "", uid: s.metadata.uid ?? "" });

  if (!clientCredentialsEnabled(apiKey) || apiKey.metadata.deletionTimestamp !== undefined) {
    const actions: ClientCredentialsAction[] = [];
    if (credsOurs && input.credentials !== undefined) actions.push(del(input.credentials));
    if (hashOurs && input.hash !== undefined) actions.push(del(input.hash));
    return { actions, conflict: null, minted: false };
  }

  for (const [s, isOurs] of [[input.credentials, credsOurs], [input.hash, hashOurs]] as const) {
    if (s !== undefined && !isOurs) {
      return {
        actions: [],
        minted: false,
        conflict:
          `Secret ${ns}/${s.metadata.name ?? ""} exists but is not the client-credentials Secret of ApiKey ${ns}/${apiKey.metadata.name ?? ""}: ` +
          `keyward does not adopt or overwrite it; delete or rename it, or remove the annotation ${CLIENT_CREDENTIALS_ANNOTATION}`,
      };
    }
  }

  const clientId = clientIdOf(ns, apiKey.metadata.name ?? "");
  const current = input.credentials;
  const presentSecret = unb64(current?.data?.[CLIENT_SECRET_KEY]);
  const usable = current !== undefined && unb64(current.data?.[CLIENT_ID_KEY]) === clientId && presentSecret !== undefined && CLIENT_SECRET.test(presentSecret);

  const actions: ClientCredentialsAction[] = [];
  let secret: string;
  let minted = false;
  if (usable) {
    secret = presentSecret;
  } else {
    secret = (input.newSecret ?? newClientSecret)();
    minted = true;
    const desired = clientCredentialsSecret(apiKey, secret);
    actions.push(current === undefined ? { verb: "create", secret: desired } : { verb: "replace", secret: withVersion(desired, current) });
  }
  const wantedHash = clientSecretHashSecret(apiKey, secret);
  const stored = readClientSecretHash(input.hash, apiKey);
  if (input.hash === undefined) actions.push({ verb: "create", secret: wantedHash });
  else if (stored !== hashClientSecret(secret)) actions.push({ verb: "replace", secret: withVersion(wantedHash, input.hash) });
  return { actions, conflict: null, minted };
}

function withVersion(desired: SecretObject, current: SecretObject): SecretObject {
  const rv = current.metadata.resourceVersion;
  return rv === undefined ? desired : { ...desired, metadata: { ...desired.metadata, resourceVersion: rv } };
}
