// Reads of cached objects that cost real work (parsing a bundle, checking the
// thumbprints of signing keys), remembered per cached object. An informer
// replaces an object on every change and never mutates one, so an object's
// identity stands for its content: a reconcile that reads the same Secret or
// ConfigMap as the last one does not parse it again.

import { bundleSignerOf, parseTrustSet, type Bundle, type BundleSigner, type RevokedSegmentRef, type TrustSet } from "../../token/index.ts";
import { readSegment, type SegmentRead } from "../bundle/segment-reads.ts";
import type { PublishedRevocations } from "../accesstoken/revocations.ts";
import { segmentTextOf } from "../../model/bundle/segments.ts";
import { BUNDLE_CONFIGMAP_NAME } from "../../model/names.ts";
import { readBundleSigningSecret, signingKeyInUse, trustEntryOf, trustText } from "../../model/bundle/signing.ts";
import { readSigningKeySecret, type ApiKeyRef, type SecretObject, type SigningKeySecretRead } from "../../model/signing-key/secret.ts";
import { currentKeySecret } from "../../model/signing-key/location.ts";
import type { Stores } from "./context.ts";
import type { ConfigMapObject } from "../../model/bundle/configmap.ts";
import { readBundleData } from "../bundle/plan.ts";

const signingKeys = new WeakMap<SecretObject, Map<string, SigningKeySecretRead>>();

/** The bundle a ConfigMap holds; null when it holds none or nothing readable. One read per cached object, shared with the planner. */
export function bundleOf(cm: ConfigMapObject | null | undefined): Bundle | null {
  const read = readBundleData(cm?.data ?? null);
  return read.state === "ok" ? read.bundle : null;
}

/** A tenant's bundle as its verifiers enforce it: the head, and the revocations of the segments it names. */
export interface PublishedBundle extends PublishedRevocations {
  /** The head (bundle.json): its `revoked` holds only the revocations outside segments. */
  bundle: Bundle;
  /** False when a segment the head names is not in the cache with the bytes named: only the head's revocations count. */
  complete: boolean;
  /** The segments read, each with the revocations it holds. */
  segments: readonly { ref: RevokedSegmentRef; read: SegmentRead }[];
  /** Whether it lists a revocation of this jti (of an ApiKey it lists). */
  listsJti(jti: string): boolean;
}

const published = new WeakMap<ConfigMapObject, { slots: readonly (ConfigMapObject | undefined)[]; read: PublishedBundle }>();

/**
 * The tenant's published bundle: its keyward-bundle ConfigMap's head with the
 * revocations of the segments it names, read from the tenant's slots (what
 * verifiers read). A segment missing or changed counts as not published, so what
 * waits for a revocation to be published keeps waiting. Null without a readable
 * bundle. One read per head and slots; segments are read once per text.
 */
export function publishedBundle(stores: Pick<Stores, "configMaps" | "bundleSegments">, tenant: string): PublishedBundle | null {
  const cm = stores.configMaps.get(tenant, BUNDLE_CONFIGMAP_NAME);
  const head = bundleOf(cm);
  if (cm === undefined || head === null) return null;
  const refs = head.revokedSegments ?? [];
  const slots = refs.map((r) => stores.bundleSegments.get(tenant, r.name));
  const known = published.get(cm);
  if (known !== undefined && known.slots.length === slots.length && known.slots.every((s, i) => s === slots[i])) return known.read;
  const segments: { ref: RevokedSegmentRef; read: SegmentRead }[] = [];
  for (const [i, ref] of refs.entries()) {
    const text = segmentTextOf(slots[i]);
    const read = text === undefined ? null : readSegment(head, ref, text);
    if (read !== null) segments.push({ ref, read });
  }
  const complete = segments.length === refs.length;
  const counted = complete ? segments : [];
  const inHead = new Map(head.revoked.map((r) => [r.jti, r.apiKey]));
  const apiKeyOf = (jti: string): string | undefined => {
    const own = inHead.get(jti);
    if (own !== undefined) return own;
    for (const s of counted) {
      const apiKey = s.read.jtis.get(jti);
      if (apiKey !== undefined) return apiKey;
    }
    return undefined;
  };
  const read: PublishedBundle = {
    bundle: head,
    complete,
    segments: counted,
    keyed: new Set(head.keys.map((k) => k.apiKey)),
    lists: (apiKey, jti) => Object.hasOwn(head.apiKeys, apiKey) && apiKeyOf(jti) === apiKey,
    listsJti: (jti) => {
      const apiKey = apiKeyOf(jti);
      return apiKey !== undefined && Object.hasOwn(head.apiKeys, apiKey);
    },
  };
  published.set(cm, { slots, read });
  return read;
}

/** readSigningKeySecret, remembered per Secret object and ApiKey. */
export function signingKeysOf(secret: SecretObject | null | undefined, apiKey: ApiKeyRef): SigningKeySecretRead {
  if (secret === null || secret === undefined) return readSigningKeySecret(null, apiKey);
  let byKey = signingKeys.get(secret);
  if (byKey === undefined) signingKeys.set(secret, (byKey = new Map<string, SigningKeySecretRead>()));
  const id = `${apiKey.namespace}\u0000${apiKey.name}\u0000${apiKey.uid}`;
  let read = byKey.get(id);
  if (read === undefined) byKey.set(id, (read = readSigningKeySecret(secret, apiKey)));
  return read;
}

/** The ApiKey's signing keys as they stand: its Secret in the system namespace, or its legacy one until moved. */
export function currentSigningKeys(stores: Pick<Stores, "secrets">, systemNamespace: string, apiKey: ApiKeyRef): SigningKeySecretRead {
  return signingKeysOf(currentKeySecret(stores.secrets, systemNamespace, apiKey), apiKey);
}

/** What the bundle controller signs with: the key signing now, and every key the controller has published. */
export interface BundleSigning {
  signer: BundleSigner;
  trust: TrustSet;
}

const bundleSigning = new WeakMap<SecretObject, BundleSigning | null>();

/** The bundle-signing key in use and the controller's trust set, remembered per Secret object; null while there is none. */
export function bundleSigningOf(secret: SecretObject | undefined): BundleSigning | null {
  if (secret === undefined) return null;
  if (bundleSigning.has(secret)) return bundleSigning.get(secret) ?? null;
  const read = readBundleSigningSecret(secret);
  let signing: BundleSigning | null = null;
  if (read.kind === "ok") {
    const inUse = signingKeyInUse(read.document);
    if (inUse !== null) {
      const trust = parseTrustSet(trustText(read.document.keys.map((k) => trustEntryOf(k, k.createdAt))));
      signing = { signer: bundleSignerOf(inUse.jwk), trust };
    }
  }
  bundleSigning.set(secret, signing);
  return signing;
}
