// Where an ApiKey's signing keys live: one Secret per ApiKey in keyward's own
// namespace (the system namespace), never in the tenant's, where anyone with the
// built-in `edit` role reads every Secret. Owner references cannot cross
// namespaces, so the Secret names its ApiKey by labels and annotations, and the
// controller deletes it itself (the ApiKey's finalizer, and a sweep for ApiKeys
// that went without it).
//
// Before, the keys lived in `<apikey>-signing-keys` in the tenant namespace (the
// legacy Secret): the controller moves such a document to the system namespace
// (migration.ts), and until it has, every reader falls back to it.

import { createHash } from "node:crypto";
import type { ObjectMeta } from "../../api/types.generated.ts";
import { API_KEY_LABEL, MANAGED_BY, MANAGED_BY_LABEL, SIGNING_KEY_SECRET_TYPE, SigningKeyAnnotations, TENANT_LABEL } from "../names.ts";

/** The limits of the names involved: a namespace is a DNS label, an ApiKey's name and a Secret's a DNS subdomain, a label value 63 characters. */
const MAX_SUBDOMAIN = 253;
const MAX_LABEL_VALUE = 63;
/** Hex digits of SHA-256 in a Secret name: 128 bits, so no two (namespace, name) pairs meet by chance. */
const NAME_HASH_HEX = 32;
const LABEL_HASH_HEX = 16;

/** Cached objects by namespace and name; the controller's Store and the token service's caches fit. */
export interface SecretLookup<T> {
  get(namespace: string | undefined, name: string): T | undefined;
}

/** A Secret as much as locating it needs. */
export interface LocatedSecret {
  metadata: ObjectMeta;
  type?: string;
}

/** Which ApiKey: its namespace (the tenant), name and uid. */
export interface ApiKeyRef {
  namespace: string;
  name: string;
  uid: string;
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Cuts `text` to at most `max` characters, then drops what a DNS name may not end with. */
function readablePrefix(text: string, max: number): string {
  return text.slice(0, max).replace(/[^a-z0-9]+$/, "");
}

/**
 * The name of the ApiKey's signing-key Secret in the system namespace:
 * `<namespace>.<name, cut to fit>.<hash>`, where the hash is of the exact pair.
 * Deterministic, a valid DNS subdomain of at most 253 characters for any
 * namespace (≤ 63) and ApiKey name (≤ 253), and different for different pairs
 * (a namespace holds no ".", and the hash covers what the cut drops).
 */
export function signingKeySecretName(namespace: string, apiKeyName: string): string {
  const hash = sha256Hex(`${namespace}/${apiKeyName}`).slice(0, NAME_HASH_HEX);
  const room = MAX_SUBDOMAIN - namespace.length - hash.length - 2;
  return `${namespace}.${readablePrefix(apiKeyName, room)}.${hash}`;
}

/** The name of the Secret that held the ApiKey's keys in the tenant namespace before (read for migration only). */
export function legacySigningKeySecretName(apiKeyName: string): string {
  return `${apiKeyName}-signing-keys`;
}

/** The ApiKey's name as a label value: itself when it fits in 63 characters, else a prefix and a hash of it. */
export function apiKeyLabelValue(apiKeyName: string): string {
  if (apiKeyName.length <= MAX_LABEL_VALUE) return apiKeyName;
  const hash = sha256Hex(apiKeyName).slice(0, LABEL_HASH_HEX);
  return `${readablePrefix(apiKeyName, MAX_LABEL_VALUE - LABEL_HASH_HEX - 1)}-${hash}`;
}

/** The labels and annotations of the ApiKey's Secret in the system namespace. */
export function signingKeyMetadata(systemNamespace: string, apiKey: ApiKeyRef): ObjectMeta {
  return {
    name: signingKeySecretName(apiKey.namespace, apiKey.name),
    namespace: systemNamespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [TENANT_LABEL]: apiKey.namespace, [API_KEY_LABEL]: apiKeyLabelValue(apiKey.name) },
    annotations: {
      [SigningKeyAnnotations.tenant]: apiKey.namespace,
      [SigningKeyAnnotations.apiKey]: apiKey.name,
      [SigningKeyAnnotations.apiKeyUid]: apiKey.uid,
    },
  };
}

/** Whether `meta` names `uid` as its controller. */
export function isControlledBy(meta: ObjectMeta, uid: string): boolean {
  return (meta.ownerReferences ?? []).some((r) => r.uid === uid && r.controller === true);
}

/**
 * The ApiKey a signing-key Secret in the system namespace belongs to, from its
 * annotations; null for any other Secret (another type, no or partial annotations).
 */
export function systemSecretOwner(secret: LocatedSecret): ApiKeyRef | null {
  if (secret.type !== SIGNING_KEY_SECRET_TYPE) return null;
  const a = secret.metadata.annotations ?? {};
  const namespace = a[SigningKeyAnnotations.tenant];
  const name = a[SigningKeyAnnotations.apiKey];
  const uid = a[SigningKeyAnnotations.apiKeyUid];
  if (namespace === undefined || name === undefined || uid === undefined || namespace === "" || name === "") return null;
  if (secret.metadata.name !== signingKeySecretName(namespace, name)) return null;
  return { namespace, name, uid };
}

/** Whether `secret` is the ApiKey's own: in the system namespace by its annotations, in the tenant (legacy) by its owner reference. */
export function holdsKeysOf(secret: LocatedSecret, apiKey: ApiKeyRef): boolean {
  if (secret.type !== SIGNING_KEY_SECRET_TYPE) return false;
  // A legacy name ends in "-signing-keys", a system name in hex digits: the two never meet.
  if (secret.metadata.namespace === apiKey.namespace && secret.metadata.name === legacySigningKeySecretName(apiKey.name)) {
    return isControlledBy(secret.metadata, apiKey.uid);
  }
  const owner = systemSecretOwner(secret);
  return owner !== null && owner.namespace === apiKey.namespace && owner.name === apiKey.name && owner.uid === apiKey.uid;
}

/**
 * The tenant and ApiKey name a signing-key Secret (either place) belongs to, for
 * mapping its events to the objects that read it; null for other Secrets.
 */
export function signingKeyTenantOf(secret: LocatedSecret, systemNamespace: string): { namespace: string; name: string } | null {
  if (secret.type !== SIGNING_KEY_SECRET_TYPE) return null;
  const owner = secret.metadata.namespace === systemNamespace ? systemSecretOwner(secret) : null;
  if (owner !== null) return owner;
  const name = secret.metadata.ownerReferences?.find((r) => r.kind === "ApiKey" && r.controller === true)?.name;
  return name === undefined || secret.metadata.namespace === undefined ? null : { namespace: secret.metadata.namespace, name };
}

/**
 * The Secret holding the ApiKey's keys now: its Secret in the system namespace,
 * else, while it has not been migrated yet, its legacy Secret in the tenant when
 * that is the ApiKey's own; null when neither exists. A Secret of the system
 * name that is not the ApiKey's is returned too: the reader reports the conflict.
 */
export function currentKeySecret<T extends LocatedSecret>(secrets: SecretLookup<T>, systemNamespace: string, apiKey: ApiKeyRef): T | null {
  const system = secrets.get(systemNamespace, signingKeySecretName(apiKey.namespace, apiKey.name));
  if (system !== undefined) return system;
  const legacy = secrets.get(apiKey.namespace, legacySigningKeySecretName(apiKey.name));
  return legacy !== undefined && holdsKeysOf(legacy, apiKey) ? legacy : null;
}
