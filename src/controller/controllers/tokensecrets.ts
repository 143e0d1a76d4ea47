// The token Secrets' finalizer. A token Secret is created with the finalizer
// keyward.dev/revocation and the record of the tokens a deletion revokes (the
// annotation keyward.dev/issued), so deleting an AccessToken needs no finalizer
// on the AccessToken: the garbage collector deletes its Secret, which waits on
// that finalizer until the tenant bundle lists the revocations. Per Secret:
//
//   its namespace is being deleted            → the finalizer goes at once
//   its AccessToken lives, the Secret is not   → nothing
//     being deleted
//   its AccessToken lives, the Secret was      → the record passes to the AccessToken (its
//     deleted by hand                            controller adds the AccessToken's finalizer),
//                                                then this finalizer goes and the AccessToken
//                                                gets a new Secret: the token is not revoked
//   its AccessToken is gone or being deleted   → the record's tokens are reported to the bundle
//                                                (DeletedTokens); the finalizer goes once the
//                                                bundle lists them
//
// "Gone" is asked of the API server when the cache does not show the
// AccessToken: a cache that has not caught up must not revoke a live token.

import type { AccessToken } from "../../api/types.generated.ts";
import { Resources } from "../../kube/resources.ts";
import { makeKey, objectKey, parseKey } from "../../kube/types.ts";
import type { RevokedEntry } from "../../token/index.ts";
import { isRecordingTokenSecret, secretRecord, tokenSecretName } from "../../model/access-token/secret.ts";
import {
  ACCESS_TOKEN_FINALIZER,
  ACCESS_TOKEN_SECRET_TYPE,
  API_KEY_LABEL,
  TOKEN_SECRET_FINALIZER,
  TokenSecretAnnotations as Annotations,
} from "../../model/names.ts";
import type { SecretObject } from "../../model/signing-key/secret.ts";
import { revocationsOfIssued, revocationsPublished } from "../accesstoken/revocations.ts";
import type { ReconcileFunc, WatchSpec } from "../runtime/controller.ts";
import { hasFinalizer } from "../runtime/finalizer.ts";
import { Outcome } from "../runtime/outcome.ts";
import { now, type ControllerContext, type Stores } from "./context.ts";
import { publishedBundle } from "./memo.ts";
import { removeFinalizer } from "./writes.ts";

/** How long to wait for the cache when the API server shows an AccessToken the cache does not. */
const CACHE_LAG_RETRY_MS = 1_000;

/**
 * The revocations of tokens whose AccessToken is gone, as the token Secrets'
 * records tell them, per tenant: how the controller learns a token was deleted.
 * Held in memory only: after a restart, the Secrets still waiting on their
 * finalizer report them again.
 */
export class DeletedTokens {
  readonly #byTenant = new Map<string, Map<string, RevokedEntry[]>>();
  readonly #listeners = new Set<(tenant: string) => void>();

  /** The tokens of the Secret `secretKey` are to be revoked; the tenant's bundle is woken when that is news. */
  report(secretKey: string, entries: RevokedEntry[]): void {
    const tenant = parseKey(secretKey).namespace ?? "";
    let secrets = this.#byTenant.get(tenant);
    if (secrets === undefined) this.#byTenant.set(tenant, (secrets = new Map<string, RevokedEntry[]>()));
    const before = secrets.get(secretKey);
    secrets.set(secretKey, entries);
    if (before !== undefined && JSON.stringify(before) === JSON.stringify(entries)) return;
    for (const fn of this.#listeners) fn(tenant);
  }

  /** The Secret's finalizer is gone (its revocations are in the bundle, or nothing is left to protect). */
  forget(secretKey: string): void {
    const tenant = parseKey(secretKey).namespace ?? "";
    const secrets = this.#byTenant.get(tenant);
    if (secrets?.delete(secretKey) === true && secrets.size === 0) this.#byTenant.delete(tenant);
  }

  /** Every revocation reported in `tenant` and not yet forgotten. */
  revocations(tenant: string): RevokedEntry[] {
    return [...(this.#byTenant.get(tenant)?.values() ?? [])].flat();
  }

  /** The keys of the Secrets reported in `tenant`. */
  secrets(tenant: string): string[] {
    return [...(this.#byTenant.get(tenant)?.keys() ?? [])];
  }

  onChange(fn: (tenant: string) => void): void {
    this.#listeners.add(fn);
  }
}

/** The AccessToken that controls a token Secret: its name and uid. */
function ownerOf(secret: SecretObject): { name: string; uid: string } | null {
  const ref = secret.metadata.ownerReferences?.find((r) => r.kind === "AccessToken" && r.controller === true);
  return ref === undefined ? null : { name: ref.name, uid: ref.uid };
}

function alive(at: AccessToken | undefined, uid: string): at is AccessToken {
  return at !== undefined && at.metadata.uid === uid && at.metadata.deletionTimestamp === undefined;
}

/**
 * Whether a token Secret has anything for this controller to do: it holds the
 * finalizer and is being deleted, or its AccessToken is not (or no longer) in
 * the cache. A resync reconciles only these; every change reconciles any token Secret.
 */
export function tokenSecretPending(stores: { accessTokens: Pick<Stores["accessTokens"], "get"> }, secret: SecretObject): boolean {
  if (!isRecordingTokenSecret(secret)) return false;
  if (secret.metadata.deletionTimestamp !== undefined) return true;
  const owner = ownerOf(secret);
  return owner === null || !alive(stores.accessTokens.get(secret.metadata.namespace, owner.name), owner.uid);
}

export function tokenSecretWatches(stores: Stores, deleted: DeletedTokens): WatchSpec[] {
  const recording = (namespace: string): string[] => stores.secrets.list(namespace).filter(isRecordingTokenSecret).map(objectKey);
  return [
    // Every change of a token Secret; of a resync's re-deliveries, only those with something to do.
    ...stores.secrets.watchSpecs(undefined, (_kind, s, old) => s.type === ACCESS_TOKEN_SECRET_TYPE && (old !== s || tokenSecretPending(stores, s))),
    // An AccessToken deleted, being deleted, or given or relieved of its finalizer: its Secret.
    ...stores.accessTokens.watchSpecs(
      (t) => [makeKey(t.metadata.namespace, tokenSecretName(t))],
      (kind, t, old) =>
        kind === "delete" ||
        (old !== undefined &&
          (old.metadata.deletionTimestamp !== t.metadata.deletionTimestamp ||
            hasFinalizer(old, ACCESS_TOKEN_FINALIZER) !== hasFinalizer(t, ACCESS_TOKEN_FINALIZER))),
    ),
    // A new bundle may list what the Secrets reported in the tenant wait for.
    ...stores.configMaps.watchSpecs((cm) => deleted.secrets(cm.metadata.namespace ?? "")),
    ...stores.bundleSegments.watchSpecs((cm) => deleted.secrets(cm.metadata.namespace ?? "")),
    ...(stores.namespaces?.watchDeletion(recording) ?? []),
  ];
}

export function tokenSecretReconciler(ctx: ControllerContext, deleted: DeletedTokens): ReconcileFunc {
  const { stores } = ctx;
  const release = async (secret: SecretObject): Promise<Outcome> => {
    await removeFinalizer(ctx, Resources.secrets, stores.secrets, secret, TOKEN_SECRET_FINALIZER);
    deleted.forget(objectKey(secret));
    return Outcome.done();
  };

  return async (key): Promise<Outcome> => {
    const secret = stores.secrets.getKey(key);
    if (secret === undefined || !isRecordingTokenSecret(secret)) {
      deleted.forget(key);
      return Outcome.done();
    }
    const namespace = secret.metadata.namespace ?? "";
    // The namespace is being deleted, its bundle and verifiers with it: nothing is left to protect.
    if (stores.namespaces?.terminating(secret) === true) return release(secret);
    const owner = ownerOf(secret);
    const cached = owner === null ? undefined : stores.accessTokens.get(namespace, owner.name);
    if (owner !== null && alive(cached, owner.uid)) {
      deleted.forget(key);
      if (secret.metadata.deletionTimestamp === undefined) return Outcome.done();
      // Deleted by hand while its AccessToken lives. The record passes to the AccessToken
      // (its controller adds its finalizer: that update wakes this Secret), or the Secret is
      // one left under a previous spec.secretName, whose record the current Secret carries.
      if (hasFinalizer(cached, ACCESS_TOKEN_FINALIZER) || tokenSecretName(cached) !== secret.metadata.name) return release(secret);
      return Outcome.done();
    }
    if (owner !== null && cached === undefined && (await ownerLives(ctx, namespace, owner))) {
      return Outcome.requeueAfter(CACHE_LAG_RETRY_MS);
    }
    // Its AccessToken is gone or going: the tokens of the record go on the revocation list.
    const entries = deletedTokenRevocations(secret, now(ctx));
    deleted.report(key, entries);
    if (!revocationsPublished(publishedBundle(stores, namespace), entries)) return Outcome.done();
    return release(secret);
  };
}

/**
 * The revocation entries of a token Secret whose AccessToken is gone: every
 * token of its record a verifier could still accept. A record that cannot be
 * read revokes the one token the Secret names.
 */
export function deletedTokenRevocations(secret: SecretObject, at: Date): RevokedEntry[] {
  const apiKey = secret.metadata.labels?.[API_KEY_LABEL] ?? "";
  const annotations = secret.metadata.annotations ?? {};
  const record = secretRecord(secret) ?? [];
  const named = annotations[Annotations.jti];
  const kid = annotations[Annotations.kid] ?? "";
  const expiresAt = annotations[Annotations.expiresAt];
  const all = named === undefined || record.some((e) => e.jti === named)
    ? record
    : [...record, { jti: named, kid, ...(expiresAt === undefined || expiresAt === "never" ? {} : { expiresAt }) }];
  return revocationsOfIssued(apiKey, all, at);
}

/** Whether the API server shows the AccessToken `owner` alive (the cache has not caught up with it). */
async function ownerLives(ctx: ControllerContext, namespace: string, owner: { name: string; uid: string }): Promise<boolean> {
  // A list by name: the controller's role lists AccessTokens and has no get on them.
  const list = await ctx.client.list<AccessToken>(Resources.accessTokens, { namespace, fieldSelector: `metadata.name=${owner.name}` });
  return list.items.some((t) => alive(t, owner.uid));
}
