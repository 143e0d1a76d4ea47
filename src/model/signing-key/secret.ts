// The ApiKey's signing-key Secret: its manifest, and reading it back. It lives in
// keyward's system namespace (location.ts says where and under which name).
// keyward only ever reads a Secret it wrote for this very ApiKey (type
// keyward.dev/signing-key, annotations naming the ApiKey's namespace, name and
// uid; a legacy one in the tenant: controlled by the ApiKey's uid); it never
// adopts, and never overwrites, anything else.

import type { ObjectMeta, OwnerReference } from "../../api/types.generated.ts";
import { API_VERSION } from "../../api/types.generated.ts";
import { publicJwkOf, type BundleKey, type PrivateJwk } from "../../token/index.ts";
import { parseSigningKeys, serializeSigningKeys, SigningKeyDocumentError, type SigningKeyDocument } from "./document.ts";
import { holdsKeysOf, signingKeyMetadata, type ApiKeyRef } from "./location.ts";

import { SIGNING_KEY_DATA_KEY, SIGNING_KEY_SECRET_TYPE } from "../names.ts";

export { isControlledBy } from "./location.ts";
export type { ApiKeyRef } from "./location.ts";

/** A core/v1 Secret, as much of it as keyward reads and writes. `data` values are base64. */
export interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  type?: string;
  data?: Record<string, string>;
}

export function controllerRef(kind: string, owner: { name: string; uid: string }): OwnerReference {
  return { apiVersion: API_VERSION, kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

/** The Secret in the system namespace holding `document` for the ApiKey. */
export function signingKeySecret(systemNamespace: string, apiKey: ApiKeyRef, document: SigningKeyDocument): SecretObject {
  return signingKeySecretOfData(systemNamespace, apiKey, Buffer.from(serializeSigningKeys(document), "utf8").toString("base64"));
}

/** The same, from the document's stored form (base64 of keys.json): a migration copies it unchanged. */
export function signingKeySecretOfData(systemNamespace: string, apiKey: ApiKeyRef, encoded: string): SecretObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: signingKeyMetadata(systemNamespace, apiKey),
    type: SIGNING_KEY_SECRET_TYPE,
    data: { [SIGNING_KEY_DATA_KEY]: encoded },
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
  const name = `Secret ${secret.metadata.namespace ?? ""}/${secret.metadata.name ?? ""}`;
  const who = `ApiKey ${apiKey.namespace}/${apiKey.name}`;
  if (!holdsKeysOf(secret, apiKey)) {
    return {
      kind: "conflict",
      message:
        `${name} exists but is not the signing-key Secret of ${who} ` +
        `(it must have type ${SIGNING_KEY_SECRET_TYPE} and name the ApiKey's uid): ` +
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
