// Bundle signing, in keyward's own namespace: the Secret of the Ed25519
// bundle-signing keys (with when each was made, began signing and stopped), the
// trust ConfigMap of their public keys (jwks.json, each with when it was
// published), and the controller's record of each tenant's bundle.

import { parseTrustSet, publicJwkOf, type PrivateJwk, type PublicJwk } from "../../token/index.ts";
import { parseTime } from "../policy/time.ts";
import type { ConfigMapObject } from "./configmap.ts";
import type { SecretObject } from "../signing-key/secret.ts";
import {
  BUNDLE_DATA_KEY,
  BUNDLE_RECORD_PREFIX,
  BUNDLE_SIGNING_DATA_KEY,
  BUNDLE_SIGNING_SECRET_NAME,
  BUNDLE_SIGNING_SECRET_TYPE,
  BUNDLE_TRUST_CONFIGMAP_NAME,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  TENANT_LABEL,
  TRUST_DATA_KEY,
} from "../names.ts";

/** One bundle-signing key and its life: published, then signing, then retired, then withdrawn (removed). */
export interface BundleSigningKey {
  jwk: PrivateJwk;
  /** RFC 3339: when it was made (and handed to the trust ConfigMap). */
  createdAt: string;
  /** RFC 3339: when it began signing; null while it waits for verifiers to see it. */
  activatedAt: string | null;
  /** RFC 3339: when a newer key took over; null while it is the one signing (or waiting). */
  retiredAt: string | null;
}

export interface BundleSigningDocument {
  keys: BundleSigningKey[];
}

export type BundleSigningRead = { kind: "missing" } | { kind: "invalid"; message: string } | { kind: "ok"; document: BundleSigningDocument };

const time = (v: unknown): v is string => typeof v === "string" && parseTime(v) !== null;

/** Reads the bundle-signing Secret. Messages never contain key material. */
export function readBundleSigningSecret(secret: SecretObject | undefined): BundleSigningRead {
  if (secret === undefined) return { kind: "missing" };
  const where = `Secret ${secret.metadata.namespace ?? ""}/${BUNDLE_SIGNING_SECRET_NAME}`;
  const encoded = secret.data?.[BUNDLE_SIGNING_DATA_KEY];
  if (secret.type !== BUNDLE_SIGNING_SECRET_TYPE || encoded === undefined) {
    return { kind: "invalid", message: `${where} is not of type ${BUNDLE_SIGNING_SECRET_TYPE} with ${BUNDLE_SIGNING_DATA_KEY}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, "base64").toString("utf8"));
  } catch {
    return { kind: "invalid", message: `${where}: ${BUNDLE_SIGNING_DATA_KEY} is not JSON` };
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return { kind: "invalid", message: `${where}: ${BUNDLE_SIGNING_DATA_KEY} has no keys array` };
  const out: BundleSigningKey[] = [];
  for (const [i, raw] of keys.entries()) {
    const k = (raw ?? {}) as Partial<BundleSigningKey>;
    const jwk = k.jwk;
    const ok =
      jwk !== undefined && jwk.kty === "OKP" && jwk.alg === "EdDSA" && typeof jwk.d === "string" && typeof jwk.kid === "string" &&
      time(k.createdAt) && (k.activatedAt === null || time(k.activatedAt)) && (k.retiredAt === null || time(k.retiredAt));
    if (!ok) return { kind: "invalid", message: `${where}: keys[${i}] is not an Ed25519 bundle-signing key with createdAt, activatedAt and retiredAt` };
    out.push({ jwk, createdAt: k.createdAt!, activatedAt: k.activatedAt ?? null, retiredAt: k.retiredAt ?? null });
  }
  return { kind: "ok", document: { keys: out } };
}

export function bundleSigningSecret(namespace: string, document: BundleSigningDocument): SecretObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: BUNDLE_SIGNING_SECRET_NAME, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    type: BUNDLE_SIGNING_SECRET_TYPE,
    data: { [BUNDLE_SIGNING_DATA_KEY]: Buffer.from(JSON.stringify(document), "utf8").toString("base64") },
  };
}

/** The key that signs bundles now: the last one activated and not retired; null when none is. */
export function signingKeyInUse(document: BundleSigningDocument): BundleSigningKey | null {
  const active = document.keys.filter((k) => k.activatedAt !== null && k.retiredAt === null);
  return active.at(-1) ?? null;
}

/** A published public key with the time it was first published. */
export type TrustEntry = PublicJwk & { publishedAt: string };

/** The jwks.json text of the trust ConfigMap. */
export function trustText(entries: readonly TrustEntry[]): string {
  return JSON.stringify({ keys: entries });
}

/** The published keys' publishedAt by kid; empty when the ConfigMap is missing or unreadable. */
export function publishedTimes(cm: ConfigMapObject | undefined): Map<string, string> {
  const text = cm?.data?.[TRUST_DATA_KEY];
  const out = new Map<string, string>();
  if (text === undefined) return out;
  try {
    const kids = parseTrustSet(text);
    const keys = (JSON.parse(text) as { keys: { kid: string; publishedAt?: unknown }[] }).keys;
    for (const k of keys) if (kids.has(k.kid) && time(k.publishedAt)) out.set(k.kid, k.publishedAt);
  } catch {
    return new Map();
  }
  return out;
}

/** The trust entry of a signing key. */
export function trustEntryOf(key: BundleSigningKey, publishedAt: string): TrustEntry {
  return { ...publicJwkOf(key.jwk), publishedAt };
}

export function trustConfigMap(namespace: string, text: string): ConfigMapObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: BUNDLE_TRUST_CONFIGMAP_NAME, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    data: { [TRUST_DATA_KEY]: text },
  };
}

/** The name of the controller's record of `tenant`'s bundle. */
export function bundleRecordName(tenant: string): string {
  return `${BUNDLE_RECORD_PREFIX}${tenant}`;
}

/** The record: the exact bundle.json the controller decided for the tenant, kept where tenants cannot write. */
export function bundleRecordConfigMap(namespace: string, tenant: string, bundleJson: string): ConfigMapObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: bundleRecordName(tenant), namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [TENANT_LABEL]: tenant } },
    data: { [BUNDLE_DATA_KEY]: bundleJson },
  };
}
