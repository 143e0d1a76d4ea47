// The AccessToken controller: issues each AccessToken's JWT into its Secret,
// re-issues before expiry, after a rotation and when the Secret is deleted or
// altered, and on revocation or deletion hands its tokens to the revocation list.
// On issue the status (the new jti in status.issued) is written before the
// Secret, so a token is on record, and revocable, before anything can read it.
// The record a deletion revokes lives in the token Secret (its finalizer
// keyward.dev/revocation and its keyward.dev/issued annotation, written with the
// token: tokensecrets.ts lets it go). The AccessToken carries the same finalizer
// only while no Secret carries that record; a deleted AccessToken with it waits
// until the tenant bundle lists its revocations.

import { tokenIssuer } from "../../token/index.ts";
import type { AccessToken, AccessTokenStatus, ApiKey } from "../../api/types.generated.ts";
import { isAlreadyExists, isNotFound } from "../../kube/errors.ts";
import { Resources } from "../../kube/resources.ts";
import { makeKey, objectKey } from "../../kube/types.ts";
import { planAccessToken } from "../accesstoken/reconcile.ts";
import { isRevoking } from "../accesstoken/revocations.ts";
import { tokenSecretName, type CachedSecret } from "../../model/access-token/secret.ts";
import { apiKeyForToken, type ApiKeyForToken } from "../accesstoken/plan.ts";
import { isControlledBy, type SecretObject } from "../../model/signing-key/secret.ts";
import { signingKeyTenantOf } from "../../model/signing-key/location.ts";
import { resolveRotationPolicy } from "../../model/policy/resolve.ts";
import { mapToOwner, type ReconcileFunc, type WatchSpec } from "../runtime/controller.ts";
import { hasFinalizer, withFinalizer, type FinalizerWrites } from "../runtime/finalizer.ts";
import { Outcome } from "../runtime/outcome.ts";
import { ROTATION_POLICY_INDEX } from "./apikey.ts";
import { currentSigningKeys, publishedBundle } from "./memo.ts";
import { delayUntil, FieldManagers, now, policyLookups, type ControllerContext, type Stores } from "./context.ts";
import { newsworthy, record } from "./events.ts";
import { refusedInTerminatingNamespace } from "./namespaces.ts";
import { finalizerWrites, readLive, removeFinalizer, upsert, writeStatus, type StatusPart } from "./writes.ts";
import { AccessTokenConditionTypes } from "../../model/reasons.ts";
import { revocationsOf } from "../accesstoken/revocations.ts";
import { reportChanged } from "../verifiers/watch.ts";
import { awaitsEnforcement, measureTokenRevocation } from "../verifiers/revocation.ts";
import { enforcementLookup } from "./enforcement.ts";
import { ACCESS_TOKEN_FINALIZER, ACCESS_TOKEN_SECRET_TYPE, BUNDLE_CONFIGMAP_NAME, TOKEN_SECRET_FINALIZER } from "../../model/names.ts";

export const ACCESS_TOKEN_STATUS_FIELDS = [
  "observedGeneration",
  "jti",
  "kid",
  "issuedAt",
  "expiresAt",
  "renewAt",
  "secretName",
  "revokedAt",
  "revocationEnforced",
  "issued",
] as const;
export const ACCESS_TOKEN_CONDITION_TYPES = AccessTokenConditionTypes;

/** Index of AccessTokens by "<namespace>/<spec.apiKeyName>". */
export const API_KEY_INDEX = "apiKey";

export function apiKeyIndexValue(at: AccessToken): string {
  return makeKey(at.metadata.namespace, at.spec.apiKeyName);
}

export function accessTokenStatusPart(status: AccessTokenStatus): StatusPart {
  const fields: Record<string, unknown> = {};
  for (const f of ACCESS_TOKEN_STATUS_FIELDS) fields[f] = status[f];
  return { fields, conditionTypes: ACCESS_TOKEN_CONDITION_TYPES, conditions: status.conditions ?? [] };
}

/** Whether a revoked AccessToken waits for every live verifier to enforce its revocation. */
export function revocationUnenforced(t: AccessToken): boolean {
  return t.status?.revokedAt !== undefined && t.status.revocationEnforced === undefined && t.metadata.deletionTimestamp === undefined;
}

export function accessTokenWatches(stores: Stores, systemNamespace: string, verifiers?: ControllerContext["verifiers"]): WatchSpec[] {
  const toOwner = mapToOwner({ group: "keyward.dev", kind: "AccessToken" }, { controllerOnly: true });
  const tokensOf = (namespace: string | undefined, apiKeyName: string): string[] =>
    stores.accessTokens.byIndex(API_KEY_INDEX, makeKey(namespace, apiKeyName)).map(objectKey);
  const tokensOfKeys = (keys: ApiKey[]): string[] => keys.flatMap((k) => tokensOf(k.metadata.namespace, k.metadata.name ?? ""));
  return [
    ...stores.accessTokens.watchSpecs(),
    ...stores.apiKeys.watchSpecs((k) => tokensOf(k.metadata.namespace, k.metadata.name ?? "")),
    ...stores.secrets.watchSpecs((s) => {
      if (s.type === ACCESS_TOKEN_SECRET_TYPE) return toOwner(s);
      const owner = signingKeyTenantOf(s, systemNamespace);
      return owner === null ? [] : tokensOf(owner.namespace, owner.name);
    }),
    // Rotation policies bound lifetimes.
    ...stores.rotationPolicies.watchSpecs((p) =>
      tokensOfKeys(stores.apiKeys.byIndex(ROTATION_POLICY_INDEX, `RotationPolicy/${p.metadata.namespace ?? ""}/${p.metadata.name ?? ""}`)),
    ),
    ...stores.clusterRotationPolicies.watchSpecs((p) => tokensOfKeys(stores.apiKeys.byIndex(ROTATION_POLICY_INDEX, `ClusterRotationPolicy/${p.metadata.name ?? ""}`))),
    // A bundle that lists their revocations lets deleted AccessTokens go, and may complete a revocation.
    ...[stores.configMaps, stores.bundleSegments].flatMap((s) =>
      s.watchSpecs((cm) =>
        stores.accessTokens.list(cm.metadata.namespace).filter((t) => t.metadata.deletionTimestamp !== undefined || revocationUnenforced(t)).map(objectKey),
      ),
    ),
    // So may a verifier that now enforces another generation.
    ...(verifiers?.leases.watchSpecs((lease) => stores.accessTokens.list(lease.metadata.namespace).filter(revocationUnenforced).map(objectKey), reportChanged) ?? []),
    // So does a namespace being deleted.
    ...(stores.namespaces?.watchDeletion((ns) => stores.accessTokens.list(ns).map(objectKey)) ?? []),
  ];
}

/** The ApiKey as its AccessTokens see it, from the caches. */
export function apiKeyView(ctx: ControllerContext, namespace: string, apiKeyName: string): ApiKeyForToken | null {
  const { stores } = ctx;
  const apiKey = stores.apiKeys.get(namespace, apiKeyName) ?? null;
  if (apiKey === null) return null;
  const read = currentSigningKeys(stores, ctx.systemNamespace, { namespace, name: apiKeyName, uid: apiKey.metadata.uid ?? "" });
  const policy = resolveRotationPolicy({
    apiKey: { namespace, name: apiKeyName, rotationPolicyRef: apiKey.spec?.rotationPolicyRef },
    ...policyLookups(stores),
  });
  return apiKeyForToken(apiKey, read.kind === "ok" ? read.document : null, policy);
}

/** Whether the ApiKey controller has reported on the ApiKey at least once (its Ready condition exists). */
function reconciledOnce(apiKey: ApiKey | undefined): boolean {
  return apiKey?.status?.conditions?.some((c) => c.type === "Ready") === true;
}

export function accessTokenReconciler(ctx: ControllerContext): ReconcileFunc {
  const { stores } = ctx;
  const finalizer = finalizerWrites(ctx, Resources.accessTokens, stores.accessTokens, ACCESS_TOKEN_FINALIZER);

  return async (key): Promise<Outcome> => {
    const at = stores.accessTokens.getKey(key);
    if (at === undefined) return Outcome.done();
    return withFinalizer(at, finalizer, {
      namespaceTerminating: stores.namespaces?.terminating(at) === true,
      // Being deleted with the finalizer: its tokens go on the revocation list; the finalizer goes once the bundle lists them.
      cleanup: async (t) => {
        const converged = await convergeAccessToken(ctx, t, null);
        return converged.release ? "release" : converged.outcome;
      },
      apply: async (t) => (await convergeAccessToken(ctx, t, finalizer)).outcome,
    });
  };
}

/**
 * An AccessToken, alive (with its `finalizer` writes) or being deleted (null):
 * its own finalizer first when no Secret carries its record, its status (a new
 * token is on record before anything can read it), then its Secret (with the
 * record), its finalizer off once the Secret carries the record, a stale Secret
 * deleted, the Events. `release`: a deleted AccessToken's revocations are in
 * the bundle and its finalizer may go.
 */
async function convergeAccessToken(
  ctx: ControllerContext,
  at: AccessToken,
  finalizer: FinalizerWrites<AccessToken> | null,
): Promise<{ outcome: Outcome; release: boolean }> {
  const { stores } = ctx;
  const namespace = at.metadata.namespace ?? "";
  const uid = at.metadata.uid ?? "";
  const previous = at.status ?? {};
  const deleting = finalizer === null;

  const secretName = tokenSecretName(at);
  let secret: SecretObject | null = stores.secrets.get(namespace, secretName) ?? null;
  if (secret === null && (previous.jti !== undefined || previous.conditions?.some((c) => c.reason === "TokenSecretConflict") === true)) {
    // Only Secrets labelled as keyward's are cached: ask before concluding it is gone.
    secret = await readLive<SecretObject>(ctx, Resources.secrets, namespace, secretName);
  }
  const outcome = await planAccessToken({
    now: now(ctx),
    accessToken: at,
    secret,
    apiKey: apiKeyView(ctx, namespace, at.spec.apiKeyName),
    issuer: tokenIssuer(ctx.issuer, namespace, ctx.issuerForm),
    // Only a deleted AccessToken waits for the bundle (to let its finalizer go).
    bundle: deleting ? publishedBundle(stores, namespace) : null,
    signer: ctx.signer,
  });

  if (outcome.plan.action === "fail" && outcome.plan.reason === "ApiKeyNotReady" && !reconciledOnce(stores.apiKeys.get(namespace, at.spec.apiKeyName))) {
    // The ApiKey was created moments ago and has not been reconciled yet: its first
    // status write wakes this AccessToken again. Reporting "not ready" meanwhile
    // would only cost writes.
    return { outcome: Outcome.done(), release: false };
  }
  // No Secret carries the record of its tokens: the AccessToken keeps it, before anything else is written.
  if (finalizer !== null && outcome.finalizer === "ensure") at = await finalizer.add(at);
  let status = outcome.status;
  // A revocation is enforced once every live verifier enforces the first bundle generation listing its tokens.
  let measured: ReturnType<typeof measureTokenRevocation> = null;
  if (!deleting && awaitsEnforcement(status)) {
    const lookup = enforcementLookup(ctx, namespace);
    measured = measureTokenRevocation(status, lookup.revokedIn(revocationsOf({ ...at, status }, now(ctx)).map((r) => r.jti)), lookup.view(), now(ctx));
  }
  if (measured !== null) {
    status = { ...status, revocationEnforced: measured.enforced };
    ctx.metrics.revocationEnforced("accessToken", measured.seconds);
  }
  // The AccessToken's status has one writer: a merge patch at the resourceVersion read.
  await writeStatus(ctx, Resources.accessTokens, stores.accessTokens, at, accessTokenStatusPart(status), FieldManagers.accessTokenStatus);

  if (outcome.secret !== null) {
    try {
      await upsert(ctx, Resources.secrets, stores.secrets, await withTokenData(ctx, outcome.secret), secret);
    } catch (err) {
      // The namespace is being deleted: the token recorded in status never left the controller.
      if (refusedInTerminatingNamespace(ctx.log, err, "accesstoken", namespace)) return { outcome: Outcome.done(), release: false };
      if (!isAlreadyExists(err)) throw err;
      const live = await readLive<SecretObject>(ctx, Resources.secrets, namespace, secretName);
      if (live === null || live.type !== ACCESS_TOKEN_SECRET_TYPE || !isControlledBy(live.metadata, uid)) throw err;
      await upsert(ctx, Resources.secrets, stores.secrets, outcome.secret, live);
    }
    if (outcome.plan.action === "issue") ctx.metrics.tokenIssued(outcome.plan.cause);
  }
  // The Secret carries the record now (a migration, or a Secret re-created after a hand delete): the AccessToken's finalizer goes.
  if (finalizer !== null && outcome.finalizer === "remove" && hasFinalizer(at, finalizer.name)) {
    await finalizer.remove(stores.accessTokens.get(namespace, at.metadata.name ?? "") ?? at);
  }
  if (outcome.deleteSecret !== null) await deleteStaleSecret(ctx, namespace, outcome.deleteSecret, uid);
  record(ctx.events, at, newsworthy(outcome.events, previous.conditions));
  return { outcome: Outcome.requeueAfter(delayUntil(ctx, outcome.requeueAt)), release: deleting && outcome.finalizer === "remove" };
}

/**
 * The Secret to write. One the plan built on the cached Secret (its record added)
 * holds no token: the cache keeps only the token's digest (cachedTokenSecret). Its
 * data is then taken from the Secret as the API server has it, so rewriting the
 * record never drops the token; the replace is at the cached resourceVersion, so a
 * Secret changed meanwhile is refused (409) and the AccessToken reconciled again.
 */
async function withTokenData(ctx: ControllerContext, desired: CachedSecret): Promise<SecretObject> {
  if (desired.tokenDigest === undefined) return desired;
  const { tokenDigest: _digest, ...rest } = desired;
  const live = await readLive<SecretObject>(ctx, Resources.secrets, desired.metadata.namespace ?? "", desired.metadata.name ?? "");
  return live?.data === undefined ? rest : { ...rest, data: live.data };
}

/** Deletes the token Secret left under a previous spec.secretName, if it is this AccessToken's. */
async function deleteStaleSecret(ctx: ControllerContext, namespace: string, name: string, uid: string): Promise<void> {
  const stale = ctx.stores.secrets.get(namespace, name);
  if (stale === undefined || stale.type !== ACCESS_TOKEN_SECRET_TYPE || !isControlledBy(stale.metadata, uid)) return;
  // The Secret just written carries the record of its tokens too: its finalizer need not hold this one.
  await removeFinalizer(ctx, Resources.secrets, ctx.stores.secrets, stale, TOKEN_SECRET_FINALIZER);
  try {
    await ctx.client.delete(Resources.secrets, { namespace, name }, { preconditions: { uid: stale.metadata.uid ?? "" } });
    await ctx.stores.secrets.waitFor(makeKey(namespace, name), null);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export { isRevoking, BUNDLE_CONFIGMAP_NAME };
