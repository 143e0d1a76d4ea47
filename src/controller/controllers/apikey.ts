// The ApiKey controller: keeps each ApiKey's signing-key Secret as planned
// (mint, rotate, activate, depose, drop), then its status. The Secret is written
// before the status; it is the record that makes a restart neither miss nor
// repeat a rotation. It is the one writer of the status: the bundle reconciler's
// part (Published, AccessPoliciesResolved, bundleGeneration) comes through
// ctx.reports (the status hand-over, handover.ts) and goes out in the same merge
// patch. A new ApiKey's first status waits for the bundle that publishes its
// first key (BUNDLE_WAIT_MS at most), so it is written once, not twice. An
// ApiKey being deleted keeps the finalizer keyward.dev/bundle until the tenant
// bundle no longer lists it, so verifiers stop accepting its tokens before its
// Secret is garbage-collected.

import type { ApiKey, ApiKeyStatus } from "../../api/types.generated.ts";
import { isAlreadyExists } from "../../kube/errors.ts";
import { Resources } from "../../kube/resources.ts";
import { ApiKeyConditionTypes } from "../../model/reasons.ts";
import { API_KEY_FINALIZER, BUNDLE_CONFIGMAP_NAME } from "../../model/names.ts";
import { makeKey, objectKey } from "../../kube/types.ts";
import type { Bundle } from "../../token/index.ts";
import { planApiKey, type ApiKeyOutcome } from "../apikey/reconcile.ts";
import type { SecretObject } from "../../model/signing-key/secret.ts";
import { holdsKeysOf, legacySigningKeySecretName, signingKeySecretName, signingKeyTenantOf, systemSecretOwner, type ApiKeyRef } from "../../model/signing-key/location.ts";
import type { ReconcileFunc, WatchSpec } from "../runtime/controller.ts";
import { hasFinalizer, withFinalizer } from "../runtime/finalizer.ts";
import { Outcome } from "../runtime/outcome.ts";
import { delayUntil, earliestDelay, FieldManagers, now, policyLookups, type ControllerContext, type Stores } from "./context.ts";
import { newsworthy, record } from "./events.ts";
import { bundleOf, signingKeysOf } from "./memo.ts";
import { deleteKeySecret, leftByEarlierApiKey, migrateKeys } from "./signingkeys.ts";
import { FirstStatusWait, withBundlePart } from "./handover.ts";
import { finalizerWrites, readLive, upsert, writeStatus, type StatusPart } from "./writes.ts";
import { activationGate, type GateOf } from "../apikey/gate.ts";
import { reportChanged } from "../verifiers/watch.ts";
import { measureRevocation, requestedRevocation } from "../verifiers/revocation.ts";

/** The ApiKey's status: all of it is written by this controller, bundleGeneration and the bundle's conditions as the bundle reconciler worked them out. */
export const API_KEY_STATUS_FIELDS = [
  "observedGeneration",
  "keys",
  "activeKid",
  "secretName",
  "lastRotationTime",
  "nextRotationTime",
  "observedRequests",
  "bundleGeneration",
  "lastActivation",
  "revocation",
] as const;
/** Every condition of the ApiKey: this controller writes them all. */
export const API_KEY_CONDITION_TYPES = ApiKeyConditionTypes;

/** Index of ApiKeys by the rotation policy they use: "RotationPolicy/<ns>/<name>" or "ClusterRotationPolicy/<name>". */
export const ROTATION_POLICY_INDEX = "rotationPolicy";

export function rotationPolicyIndexValue(apiKey: ApiKey): string {
  const ref = apiKey.spec?.rotationPolicyRef;
  const kind = ref?.kind ?? "ClusterRotationPolicy";
  const name = ref?.name ?? "default";
  return kind === "RotationPolicy" ? `RotationPolicy/${apiKey.metadata.namespace ?? ""}/${name}` : `ClusterRotationPolicy/${name}`;
}

export function apiKeyStatusPart(status: ApiKeyStatus): StatusPart {
  const fields: Record<string, unknown> = {};
  for (const f of API_KEY_STATUS_FIELDS) fields[f] = status[f];
  return { fields, conditionTypes: API_KEY_CONDITION_TYPES, conditions: status.conditions ?? [] };
}

/** Whether the tenant bundle still lists the ApiKey (by uid, or by keys under its name). */
export function bundleLists(bundle: Bundle | null, apiKey: ApiKey): boolean {
  if (bundle === null) return false;
  const name = apiKey.metadata.name ?? "";
  const entry = bundle.apiKeys[name];
  return (entry !== undefined && entry.uid === apiKey.metadata.uid) || bundle.keys.some((k) => k.apiKey === name);
}

export function apiKeyWatches(stores: Stores, systemNamespace: string, verifiers?: ControllerContext["verifiers"]): WatchSpec[] {
  return [
    ...stores.apiKeys.watchSpecs(),
    // Its signing-key Secret, in the system namespace or (until moved) in the tenant.
    ...stores.secrets.watchSpecs((s) => {
      const owner = signingKeyTenantOf(s, systemNamespace);
      return owner === null ? [] : [makeKey(owner.namespace, owner.name)];
    }),
    ...stores.rotationPolicies.watchSpecs((p) =>
      stores.apiKeys.byIndex(ROTATION_POLICY_INDEX, `RotationPolicy/${p.metadata.namespace ?? ""}/${p.metadata.name ?? ""}`).map(objectKey),
    ),
    ...stores.clusterRotationPolicies.watchSpecs((p) =>
      stores.apiKeys.byIndex(ROTATION_POLICY_INDEX, `ClusterRotationPolicy/${p.metadata.name ?? ""}`).map(objectKey),
    ),
    // A bundle written without a deleted ApiKey lets its finalizer go.
    ...stores.configMaps.watchSpecs((cm) =>
      stores.apiKeys.list(cm.metadata.namespace).filter((k) => k.metadata.deletionTimestamp !== undefined).map(objectKey),
    ),
    // A namespace being deleted lets every finalizer go.
    ...(stores.namespaces?.watchDeletion((ns) => stores.apiKeys.list(ns).map(objectKey)) ?? []),
    // A verifier that now enforces another generation (or came or went) may open the
    // activation gate of a prepared key, or complete a revocation: only those ApiKeys wake.
    ...(verifiers?.leases.watchSpecs(
      (lease) => stores.apiKeys.list(lease.metadata.namespace).filter(waitsOnVerifiers).map(objectKey),
      reportChanged,
    ) ?? []),
  ];
}

export function apiKeyReconciler(ctx: ControllerContext): ReconcileFunc {
  const { stores } = ctx;
  const finalizer = finalizerWrites(ctx, Resources.apiKeys, stores.apiKeys, API_KEY_FINALIZER);
  const firstStatusWait = new FirstStatusWait();

  return async (key): Promise<Outcome> => {
    const apiKey = stores.apiKeys.getKey(key);
    if (apiKey === undefined) return Outcome.done();
    return withFinalizer(apiKey, finalizer, {
      namespaceTerminating: stores.namespaces?.terminating(apiKey) === true,
      // Once the tenant bundle no longer lists it (verifiers then refuse its tokens), its
      // keys go, then its finalizer: owner references cannot reach the system namespace.
      cleanup: async (k) => {
        if (bundleLists(bundleOf(stores.configMaps.get(k.metadata.namespace ?? "", BUNDLE_CONFIGMAP_NAME)), k)) return Outcome.done();
        await deleteKeysOf(ctx, k);
        return "release";
      },
      apply: (k, ensureFinalizer) => convergeApiKey(ctx, k, ensureFinalizer, firstStatusWait),
    });
  };
}

/** A live ApiKey: its finalizer and signing-key Secret (Secret first), then its status and Events. */
async function convergeApiKey(ctx: ControllerContext, apiKey: ApiKey, ensureFinalizer: () => Promise<ApiKey>, wait: FirstStatusWait): Promise<Outcome> {
  const { stores } = ctx;
  const namespace = apiKey.metadata.namespace ?? "";
  const name = apiKey.metadata.name ?? "";
  const uid = apiKey.metadata.uid ?? "";
  const ref = { namespace, name, uid };
  const previous = apiKey.status ?? {};
  let secret = await keySecretOf(ctx, ref, previous);
  const view = ctx.verifiers?.view(namespace) ?? null;
  const gate: GateOf = (kid) => activationGate(view, ctx.verifiers?.holding(namespace, kid) ?? null);
  const plan = (s: SecretObject | null): Promise<ApiKeyOutcome> =>
    planApiKey({ now: now(ctx), apiKey, systemNamespace: ctx.systemNamespace, secret: s, ...policyLookups(stores), mintKey: ctx.mintKey, gate });
  let outcome = await plan(secret);

  const ours = secret !== null && holdsKeysOf(secret, ref);
  if (outcome.secret !== null || (ours && !hasFinalizer(apiKey, API_KEY_FINALIZER))) apiKey = await ensureFinalizer();
  if (outcome.secret !== null) {
    const written = outcome.secret;
    const current = secret !== null && secret.metadata.namespace === ctx.systemNamespace ? secret : null;
    try {
      await upsert(ctx, Resources.secrets, stores.secrets, written, current);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // It exists, unseen by the cache: plan again from what it holds.
      secret = await readLive<SecretObject>(ctx, Resources.secrets, ctx.systemNamespace, written.metadata.name ?? "");
      outcome = await plan(secret);
      if (outcome.secret !== null) await upsert(ctx, Resources.secrets, stores.secrets, outcome.secret, secret);
    }
    await forgetDroppedKeys(ctx, ref, secret, outcome);
  }
  for (const action of outcome.plan?.actions ?? []) {
    if (action.type === "mint") ctx.metrics.keyMinted(action.state);
    if (action.type === "activate") ctx.metrics.keyActivated(action.reason, activationDelay(outcome, action.kid, action.at));
  }

  const part = ctx.reports.get(namespace, name, uid, stores.configMaps.get(namespace, BUNDLE_CONFIGMAP_NAME)?.metadata.resourceVersion);
  if (part === undefined && firstStatus(apiKey, outcome)) {
    // Its first key is new: the bundle that publishes it comes next, and with it
    // the bundle's part of the status (reports.onChange wakes this ApiKey).
    const left = wait.left(uid, ctx.clock.now());
    if (left > 0) return Outcome.requeueAfter(left);
  }
  wait.end(uid);
  let status = part === undefined ? outcome.status : withBundlePart(outcome.status, part, now(ctx));
  // Revocations this spec asked for: requested now, enforced once every live verifier has them.
  const requested = requestedRevocation(outcome.plan?.actions ?? [], now(ctx));
  if (requested !== null) status = { ...status, revocation: requested };
  const measured = measureRevocation(name, status, outcome.plan, stores.configMaps.get(namespace, BUNDLE_CONFIGMAP_NAME), view, now(ctx), part !== undefined);
  if (measured !== null) {
    status = { ...status, revocation: measured.revocation };
    ctx.metrics.revocationEnforced(measured.revocation.request, measured.seconds);
  }
  await writeStatus(ctx, Resources.apiKeys, stores.apiKeys, apiKey, apiKeyStatusPart(status), FieldManagers.apiKeyStatus);
  record(ctx.events, apiKey, newsworthy([...outcome.events, ...(part?.events ?? [])], previous.conditions));
  if (outcome.retry !== null) return Outcome.backoff(outcome.retry);
  // A revocation not enforced yet is looked at again when the next live verifier could age out.
  const recheck = status.revocation !== undefined && status.revocation.enforcedAt === undefined && view?.nextExpiryMs != null ? new Date(view.nextExpiryMs) : null;
  return Outcome.requeueAfter(earliestDelay(delayUntil(ctx, outcome.requeueAt), delayUntil(ctx, recheck)));
}

/** Whether an ApiKey waits on what its tenant's verifiers enforce: a prepared key, or a revocation not enforced yet. */
export function waitsOnVerifiers(apiKey: ApiKey): boolean {
  const status = apiKey.status;
  return (status?.keys ?? []).some((k) => k.state === "prepared") || (status?.revocation !== undefined && status.revocation.enforcedAt === undefined);
}

/** Seconds from a key's creation to its activation (0 when unknown). */
function activationDelay(outcome: ApiKeyOutcome, kid: string, at: string): number {
  const key = outcome.plan?.keys.find((k) => k.jwk.kid === kid);
  const from = key === undefined ? NaN : Date.parse(key.createdAt);
  const to = Date.parse(at);
  return Number.isFinite(from) && Number.isFinite(to) ? Math.max(0, (to - from) / 1000) : 0;
}

/**
 * The Secret the ApiKey's keys are read from: its Secret in the system
 * namespace, after moving them there from its legacy Secret in the tenant and
 * deleting one an earlier ApiKey of the same name left; else its legacy Secret
 * when that cannot be moved (it is unreadable: the planner reports it); else null.
 */
async function keySecretOf(ctx: ControllerContext, ref: ApiKeyRef, previous: ApiKeyStatus): Promise<SecretObject | null> {
  const { stores } = ctx;
  const systemName = signingKeySecretName(ref.namespace, ref.name);
  const legacyName = legacySigningKeySecretName(ref.name);
  const hadKeys = (previous.keys ?? []).length > 0 || previous.conditions?.some((c) => c.reason === "SigningKeySecretConflict") === true;
  let system: SecretObject | null = stores.secrets.get(ctx.systemNamespace, systemName) ?? null;
  let legacy: SecretObject | null = stores.secrets.get(ref.namespace, legacyName) ?? null;
  if (system === null && legacy === null && hadKeys) {
    // The cache shows only Secrets labelled as keyward's: before concluding the
    // keys are gone, ask the API server (a tenant may have changed the legacy Secret's labels).
    system = await readLive<SecretObject>(ctx, Resources.secrets, ctx.systemNamespace, systemName);
    if (system === null) legacy = await readLive<SecretObject>(ctx, Resources.secrets, ref.namespace, legacyName);
  }
  if (system !== null && leftByEarlierApiKey(system, ref)) {
    await deleteKeySecret(ctx, system, { ...ref, uid: systemSecretOwner(system)?.uid ?? "" }, true);
    system = null;
  }
  system = await migrateKeys(ctx, ref, system, legacy);
  if (system !== null) return system;
  return legacy !== null && holdsKeysOf(legacy, ref) ? legacy : null;
}

/** Once the written document no longer lists them, the signer forgets the keys the plan dropped (for the in-cluster signer they went with the document). */
async function forgetDroppedKeys(ctx: ControllerContext, ref: ApiKeyRef, before: SecretObject | null, outcome: ApiKeyOutcome): Promise<void> {
  const dropped = new Set((outcome.plan?.actions ?? []).flatMap((a) => (a.type === "drop" ? [a.kid] : [])));
  if (dropped.size === 0 || before === null) return;
  const read = signingKeysOf(before, ref);
  if (read.kind !== "ok") return;
  for (const k of read.document.keys) if (dropped.has(k.jwk.kid)) await ctx.signer.delete({ ...ref, kid: k.jwk.kid, alg: k.jwk.alg });
}

/**
 * Whether this would be the first status of an ApiKey that just got its first
 * key, with nothing else to tell: worth holding until the bundle lists the key.
 */
function firstStatus(apiKey: ApiKey, outcome: ApiKeyOutcome): boolean {
  return (
    apiKey.status?.conditions === undefined &&
    outcome.events.length === 0 &&
    (outcome.status.keys ?? []).length > 0 &&
    outcome.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true
  );
}

/** Deletes the ApiKey's Secret in the system namespace (its keys with it); its legacy Secret, if any, goes by its owner reference. */
async function deleteKeysOf(ctx: ControllerContext, apiKey: ApiKey): Promise<void> {
  const ref = { namespace: apiKey.metadata.namespace ?? "", name: apiKey.metadata.name ?? "", uid: apiKey.metadata.uid ?? "" };
  const name = signingKeySecretName(ref.namespace, ref.name);
  const secret = ctx.stores.secrets.get(ctx.systemNamespace, name) ?? (await readLive<SecretObject>(ctx, Resources.secrets, ctx.systemNamespace, name));
  if (secret !== null && holdsKeysOf(secret, ref)) await deleteKeySecret(ctx, secret, ref, true);
}

/** The key of an ApiKey's tenant bundle. */
export function bundleKey(namespace: string): string {
  return makeKey(namespace, BUNDLE_CONFIGMAP_NAME);
}
