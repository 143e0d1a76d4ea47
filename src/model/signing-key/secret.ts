// The ApiKey's signing-key Secret: its name, its manifest, and reading it back.
// keyward only ever reads a Secret it created for this very ApiKey (type
// keyward.dev/signing-key, controller owner reference with the ApiKey's uid); it
// never adopts, and never overwrites, anything else.

import type { ObjectMeta, OwnerReference } from "../../api/types.generated.ts";
import { API_VERSION } from "../../api/types.generated.ts";
import { publicJwkOf, type BundleKey, type PrivateJwk } from "../../token/index.ts";
import { parseSigningKeys, serializeSigningKeys, SigningKeyDocumentError, type SigningKeyDocument } from "./document.ts";

import { API_KEY_LABEL, MANAGED_BY, MANAGED_BY_LABEL, SIGNING_KEY_DATA_KEY, SIGNING_KEY_SECRET_TYPE } from "../names.ts";

/** A core/v1 Secret, as much of it as keyward reads and writes. `data` values are base64. */
export interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

export interface ApiKeyRef {
  namespace: string;
  name: string;
  uid: string;
}

/** The name of the ApiKey's signing-key Secret. */
export function signingKeySecretName(apiKeyName: string): string {
  return `${apiKeyName}-signing-keys`;
}

export function controllerRef(kind: string, owner: { name: string; uid: string }): OwnerReference {
  return { apiVersion: API_VERSION, kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

/** Whether `meta` names `uid` as its controller. */
export function isControlledBy(meta: ObjectMeta, uid: string): boolean {
  return (meta.ownerReferences ?? []).some((r) => r.uid === uid && r.controller === true);
}

/** The Secret holding `document`, owned by the ApiKey. */
export function signingKeySecret(apiKey: ApiKeyRef, document: SigningKeyDocument): SecretObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: signingKeySecretName(apiKey.name),
      namespace: apiKey.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [API_KEY_LABEL]: apiKey.name },
      ownerReferences: [controllerRef("ApiKey", apiKey)],
    },
    type: SIGNING_KEY_SECRET_TYPE,
    data: { [SIGNING_KEY_DATA_KEY]: Buffer.from(serializeSigningKeys(document), "utf8").toString("base64") },
  };
}

export type SigningKeySecretRead =
  | { kind: "missing" }
  /** A Secret of that name exists but is not this ApiKey's: reason SigningKeySecretConflict. */
  | { kind: "conflict"; message: string }
  /** It is this ApiKey's but unreadable: reason SigningKeySecretInvalid. Never overwrite it. */
  | { kind: "invalid"; message: string; field: string }
  | { kind: "ok"; document: SigningKeyDocument };

/** Reads the ApiKey's signing-key Secret (null when it does not exist). Messages never contain key material. */
export function readSigningKeySecret(secret: SecretObject | null, apiKey: ApiKeyRef): SigningKeySecretRead {
  if (secret === null) return { kind: "missing" };
  const name = `Secret ${apiKey.namespace}/${secret.metadata.name ?? signingKeySecretName(apiKey.name)}`;
  const who = `ApiKey ${apiKey.namespace}/${apiKey.name}`;
  if (secret.type !== SIGNING_KEY_SECRET_TYPE || !isControlledBy(secret.metadata, apiKey.uid)) {
    return {
      kind: "conflict",
      message:
        `${name} exists but is not the signing-key Secret of ${who} ` +
        `(it must have type ${SIGNING_KEY_SECRET_TYPE} and be controlled by the ApiKey): ` +
        `keyward does not adopt or overwrite it; delete or rename it`,
    };
  }
  const encoded = secret.data?.[SIGNING_KEY_DATA_KEY];
  const fix = `fix it, or delete the Secret to mint a new key (tokens signed by the old keys then stop verifying)`;
  if (encoded === undefined) {
    return { kind: "invalid", field: SIGNING_KEY_DATA_KEY, message: `${name} of ${who} has no ${SIGNING_KEY_DATA_KEY}: ${fix}` };
  }
  try {
    const document = parseSigningKeys(Buffer.from(encoded, "base64").toString("utf8"));
    return { kind: "ok", document };
  } catch (err) {
    if (!(err instanceof SigningKeyDocumentError)) throw err;
    return { kind: "invalid", field: err.field, message: `${name} of ${who}: ${SIGNING_KEY_DATA_KEY} ${err.message}: ${fix}` };
  }
}

/** The key that signs new tokens. A parsed document always has exactly one. */
export function activeSigningKey(document: SigningKeyDocument): PrivateJwk {
  const active = document.keys.find((k) => k.state === "active");
  if (active === undefined) throw new SigningKeyDocumentError("keys", "must hold exactly one active key, holds 0");
  return active.jwk;
}

/** The ApiKey's keys as the bundle lists them: public members only. */
export function bundleKeysOf(document: SigningKeyDocument, apiKeyName: string): BundleKey[] {
  return document.keys.map((k) => ({ ...publicJwkOf(k.jwk), apiKey: apiKeyName, state: k.state, notAfter: k.notAfter }));
}
