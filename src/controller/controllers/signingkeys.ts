// The ApiKeys' signing-key Secrets in keyward's system namespace: moving a
// legacy Secret there from the tenant (migration.ts plans the step), deleting
// one with its ApiKey, and the sweep. Owner references cannot cross namespaces,
// so nothing collects these Secrets for keyward: the ApiKey's finalizer deletes
// its Secret, and the sweep deletes a Secret whose ApiKey is gone without it
// (force-deleted, its namespace deleted, or deleted while no controller ran).
//
// The sweep is level-based: for each signing-key Secret of the system namespace
// it asks whether the ApiKey it names (namespace, name and uid) still exists in
// the cache. It runs on the manager's caches, which have synced before any
// reconcile starts, and it never touches a Secret whose tenant is outside the
// watched namespaces (another controller's), or one that is not a signing-key
// Secret with keyward's annotations.

import type { ApiKey } from "../../api/types.generated.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../../kube/errors.ts";
import { Resources } from "../../kube/resources.ts";
import { makeKey, objectKey } from "../../kube/types.ts";
import { planKeyMigration } from "../../model/signing-key/migration.ts";
import { signingKeySecretName, systemSecretOwner, type ApiKeyRef } from "../../model/signing-key/location.ts";
import type { SecretObject } from "../../model/signing-key/secret.ts";
import type { ReconcileFunc, WatchSpec } from "../runtime/controller.ts";
import { Outcome } from "../runtime/outcome.ts";
import type { ControllerContext, Stores } from "./context.ts";
import { signingKeysOf } from "./memo.ts";
import { readLive, upsert } from "./writes.ts";

/**
 * Deletes the ApiKey's Secret (at its uid) and waits until the cache shows it
 * gone; with `forgetKeys`, the signer first forgets each key it lists (not for a
 * legacy Secret whose keys were moved). A Secret already gone, or replaced
 * meanwhile by another, is left alone.
 */
export async function deleteKeySecret(ctx: ControllerContext, secret: SecretObject, apiKey: ApiKeyRef, forgetKeys: boolean): Promise<void> {
  const read = signingKeysOf(secret, apiKey);
  if (forgetKeys && read.kind === "ok") for (const k of read.document.keys) await ctx.signer.delete({ ...apiKey, kid: k.jwk.kid, alg: k.jwk.alg });
  const namespace = secret.metadata.namespace ?? "";
  const name = secret.metadata.name ?? "";
  try {
    await ctx.client.delete(Resources.secrets, { namespace, name }, { preconditions: { uid: secret.metadata.uid ?? "" } });
  } catch (err) {
    if (isNotFound(err) || isConflict(err)) return;
    throw err;
  }
  await ctx.stores.secrets.waitFor(makeKey(namespace, name), null);
}

/**
 * Moves the ApiKey's keys from its legacy Secret in the tenant to the system
 * namespace when they are still there: copies the document unchanged, and
 * deletes the legacy Secret once the cache shows the copy. Returns the system
 * Secret as it stands now (null: none, the keys are not movable). Each step is
 * decided again from what exists, so a stop between the two is finished by the
 * next reconcile.
 */
export async function migrateKeys(ctx: ControllerContext, apiKey: ApiKeyRef, system: SecretObject | null, legacy: SecretObject | null): Promise<SecretObject | null> {
  const { stores } = ctx;
  let step = planKeyMigration({ systemNamespace: ctx.systemNamespace, apiKey, system, legacy });
  let current = system;
  if (step.step === "copy") {
    const name = signingKeySecretName(apiKey.namespace, apiKey.name);
    try {
      await upsert(ctx, Resources.secrets, stores.secrets, step.secret, null);
      // Only what the cache shows counts: every reader reads from it.
      current = stores.secrets.get(ctx.systemNamespace, name) ?? null;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Copied before, and not in the cache yet: decide from what is there, but delete nothing until the cache shows it.
      const live = await readLive<SecretObject>(ctx, Resources.secrets, ctx.systemNamespace, name);
      return live;
    }
    ctx.log.info({ controller: "apikey", namespace: apiKey.namespace, name: apiKey.name, secret: step.secret.metadata.name, systemNamespace: ctx.systemNamespace }, "signing keys copied to the system namespace");
    step = planKeyMigration({ systemNamespace: ctx.systemNamespace, apiKey, system: current, legacy });
  }
  if (step.step === "deleteLegacy") {
    await deleteKeySecret(ctx, step.legacy, apiKey, false);
    ctx.log.info({ controller: "apikey", namespace: apiKey.namespace, name: apiKey.name, secret: step.legacy.metadata.name }, "legacy signing-key Secret deleted from the tenant namespace");
  }
  return current;
}

/** Whether `secret`, of the ApiKey's name in the system namespace, was left by an earlier ApiKey of the same name (another uid). */
export function leftByEarlierApiKey(secret: SecretObject, apiKey: ApiKeyRef): boolean {
  const owner = systemSecretOwner(secret);
  return owner !== null && owner.namespace === apiKey.namespace && owner.name === apiKey.name && owner.uid !== apiKey.uid;
}

/** What wakes the sweep: signing-key Secrets of the system namespace, and ApiKeys going away. */
export function keySweepWatches(stores: Stores, systemNamespace: string): WatchSpec[] {
  return [
    ...stores.secrets.watchSpecs((s) => (s.metadata.namespace === systemNamespace && systemSecretOwner(s) !== null ? [objectKey(s)] : [])),
    ...stores.apiKeys.watchSpecs(
      (k) => [makeKey(systemNamespace, signingKeySecretName(k.metadata.namespace ?? "", k.metadata.name ?? ""))],
      (kind) => kind === "delete",
    ),
  ];
}

/** The keys of every Secret the sweep looks at (for a resync). */
export function keySweepKeys(stores: Stores, systemNamespace: string): string[] {
  return stores.secrets.list(systemNamespace).filter((s) => systemSecretOwner(s) !== null).map(objectKey);
}

/** The sweep: deletes a signing-key Secret of the system namespace whose ApiKey no longer exists. */
export function keySweepReconciler(ctx: ControllerContext): ReconcileFunc {
  const { stores } = ctx;
  return async (key): Promise<Outcome> => {
    const secret = stores.secrets.getKey(key);
    if (secret === undefined || secret.metadata.namespace !== ctx.systemNamespace) return Outcome.done();
    const owner = systemSecretOwner(secret);
    // Not a signing-key Secret of keyward's, or a tenant this controller does not watch: never ours to judge.
    if (owner === null || !stores.apiKeys.watches(owner.namespace)) return Outcome.done();
    const apiKey: ApiKey | undefined = stores.apiKeys.get(owner.namespace, owner.name);
    if (apiKey !== undefined && apiKey.metadata.uid === owner.uid) return Outcome.done();
    await deleteKeySecret(ctx, secret, owner, true);
    ctx.log.info(
      { controller: "keysweep", secret: secret.metadata.name, namespace: owner.namespace, name: owner.name, uid: owner.uid },
      "deleted the signing-key Secret of an ApiKey that no longer exists",
    );
    return Outcome.done();
  };
}
