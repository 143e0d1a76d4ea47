// OAuth 2.0 client credentials of an ApiKey (RFC 6749 §4.4).
//
// An ApiKey opts in with the annotation keyward.dev/client-credentials: "enabled"
// (no change to the ApiKey CRD: an annotation is set and removed in Git like any
// field, and keeps the ApiKey schema to what every verifier needs). The
// controller's leader then mints a 256-bit client secret into the ApiKey's own
// Secret <apikey>-client-credentials (client_id and client_secret, for the
// workload), and its SHA-256 into <apikey>-client-credentials-hash, the only one
// the token service reads. The token service compares hashes in constant time.
// A SHA-256 of a 256-bit random secret cannot be reversed by search, so no slow
// hash is needed. Deleting the client Secret mints a new secret (rotation);
// removing the annotation deletes both Secrets.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ApiKey } from "../api/types.generated.ts";
import { API_KEY_LABEL, CLIENT_CREDENTIALS_ANNOTATION, CLIENT_CREDENTIALS_ENABLED, CLIENT_CREDENTIALS_SECRET_TYPE, CLIENT_ID_KEY, CLIENT_SECRET_HASH_KEY, CLIENT_SECRET_HASH_SECRET_TYPE, CLIENT_SECRET_KEY, MANAGED_BY, MANAGED_BY_LABEL } from "./names.ts";
import { controllerRef, isControlledBy, type SecretObject } from "./signing-key/secret.ts";

/** Bytes of randomness in a client secret. */
export const CLIENT_SECRET_BYTES = 32;

/** What newClientSecret makes: 43 base64url characters. */
export const CLIENT_SECRET = /^[A-Za-z0-9_-]{43}$/;

export function clientCredentialsSecretName(apiKeyName: string): string {
  return `${apiKeyName}-client-credentials`;
}

export function clientSecretHashSecretName(apiKeyName: string): string {
  return `${apiKeyName}-client-credentials-hash`;
}

/** `<namespace>/<apikey>`. */
export function clientIdOf(namespace: string, apiKeyName: string): string {
  return `${namespace}/${apiKeyName}`;
}

/** Splits a client_id into tenant and ApiKey; null when it is not `<namespace>/<apikey>`. */
export function parseClientId(clientId: string): { tenant: string; apiKey: string } | null {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/.exec(clientId);
  if (m === null || m[1] === undefined || m[3] === undefined || m[1].length > 63 || m[3].length > 253) return null;
  return { tenant: m[1], apiKey: m[3] };
}

export function clientCredentialsEnabled(apiKey: ApiKey): boolean {
  return apiKey.metadata.annotations?.[CLIENT_CREDENTIALS_ANNOTATION] === CLIENT_CREDENTIALS_ENABLED;
}

/** A new client secret: 256 random bits, base64url (43 characters). */
export function newClientSecret(): string {
  return randomBytes(CLIENT_SECRET_BYTES).toString("base64url");
}

export function hashClientSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Whether `presented` hashes to `storedHex`, in time independent of where they differ. */
export function clientSecretMatches(presented: string, storedHex: string): boolean {
  const stored = Buffer.from(storedHex, "hex");
  const actual = createHash("sha256").update(presented, "utf8").digest();
  if (stored.length !== actual.length) {
    timingSafeEqual(actual, actual);
    return false;
  }
  return timingSafeEqual(actual, stored);
}

function b64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/** The text of a base64 data value; undefined when there is none. */
export function unb64(text: string | undefined): string | undefined {
  return text === undefined ? undefined : Buffer.from(text, "base64").toString("utf8");
}

function owned(apiKey: ApiKey, name: string, type: string, data: Record<string, string>): SecretObject {
  const apiKeyName = apiKey.metadata.name ?? "";
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: apiKey.metadata.namespace ?? "",
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [API_KEY_LABEL]: apiKeyName },
      ownerReferences: [controllerRef("ApiKey", { name: apiKeyName, uid: apiKey.metadata.uid ?? "" })],
    },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

/** The Secret the workload mounts: client_id and client_secret. */
export function clientCredentialsSecret(apiKey: ApiKey, clientSecret: string): SecretObject {
  const name = apiKey.metadata.name ?? "";
  return owned(apiKey, clientCredentialsSecretName(name), CLIENT_CREDENTIALS_SECRET_TYPE, {
    [CLIENT_ID_KEY]: clientIdOf(apiKey.metadata.namespace ?? "", name),
    [CLIENT_SECRET_KEY]: clientSecret,
  });
}

/** The Secret the token service reads: client_id and the SHA-256 of the client secret, never the secret. */
export function clientSecretHashSecret(apiKey: ApiKey, clientSecret: string): SecretObject {
  const name = apiKey.metadata.name ?? "";
  return owned(apiKey, clientSecretHashSecretName(name), CLIENT_SECRET_HASH_SECRET_TYPE, {
    [CLIENT_ID_KEY]: clientIdOf(apiKey.metadata.namespace ?? "", name),
    [CLIENT_SECRET_HASH_KEY]: hashClientSecret(clientSecret),
  });
}

/** The stored hash of the ApiKey's client secret, or null when the hash Secret is missing, foreign or unreadable. */
export function readClientSecretHash(secret: SecretObject | undefined, apiKey: ApiKey): string | null {
  if (secret === undefined || secret.type !== CLIENT_SECRET_HASH_SECRET_TYPE) return null;
  if (!isControlledBy(secret.metadata, apiKey.metadata.uid ?? "")) return null;
  if (unb64(secret.data?.[CLIENT_ID_KEY]) !== clientIdOf(apiKey.metadata.namespace ?? "", apiKey.metadata.name ?? "")) return null;
  const hash = unb64(secret.data?.[CLIENT_SECRET_HASH_KEY]);
  return hash !== undefined && /^[0-9a-f]{64}$/.test(hash) ? hash : null;
}
