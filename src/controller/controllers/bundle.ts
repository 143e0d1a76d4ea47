// The bundle controller: one reconcile per tenant namespace writes its
// keyward-bundle ConfigMap (bundle.json and jwks.json) from the ApiKeys, their
// signing-key Secrets, the AccessPolicies and the revocations of AccessTokens.
// The generation grows on each content change and only then. Afterwards it
// reports on each ApiKey (AccessPoliciesResolved, Published, bundleGeneration);
// an ApiKey whose entry did not change keeps the generation it was published in,
// so a change to one key does not rewrite the status of every other.

import type { AccessToken, ApiKey } from "../../api/types.generated.ts";
import { isAlreadyExists, isNotFound } from "../../kube/errors.ts";
import { Resources } from "../../kube/resources.ts";
import { parseKey } from "../../kube/types.ts";
import { REVOKED_RETENTION_SECONDS, type Bundle } from "../../token/index.ts";
import { revocationsFromIssuedTokens } from "../../issuer/issued-token.ts";
import { deleteExpiredIssuedTokens } from "../../issuer/reconcile.ts";
import { isRevoking, revocationsOf } from "../accesstoken/revocations.ts";
import { signingKeySecretName, SIGNING_KEY_SECRET_TYPE } from "../apikey/secret.ts";
import { apiKeyBundleReport } from "../bundle/conditions.ts";
import { bundleConfigMap, type ConfigMapObject } from "../bundle/configmap.ts";
import { bundleApiKeyInput } from "../bundle/inputs.ts";
import { BUNDLE_CONFIGMAP_NAME, planBundle, type BundlePlan } from "../bundle/plan.ts";
import { resolveRotationPolicy } from "../policy/resolve.ts";
import type { PlannedEvent } from "../reasons.ts";
import type { ReconcileFunc, ReconcileResult, WatchSpec } from "../runtime/controller.ts";
import { findCondition, setCondition, type Condition, type ConditionInput } from "../runtime/conditions.ts";
import { bundleKey } from "./apikey.ts";
import { bundleOf, signingKeysOf } from "./memo.ts";
import { delayUntil, earliestDelay, FieldManagers, now, policyLookups, type ControllerContext, type Stores } from "./context.ts";
import { newsworthy, record } from "./events.ts";
import { refusedInTerminatingNamespace } from "./namespaces.ts";
import { applyStatus, readLive, upsert } from "./writes.ts";

export const BUNDLE_CONDITION_TYPES = ["AccessPoliciesResolved", "Published"] as const;

/** Status writes of one bundle reconcile running at once. */
const STATUS_CONCURRENCY = 8;

export function bundleWatches(stores: Stores): WatchSpec[] {
  const ns = (obj: { metadata: { namespace?: string } }): string[] =>
    obj.metadata.namespace === undefined ? [] : [bundleKey(obj.metadata.namespace)];
  // Only what the bundle is made of (an ApiKey's spec or deletion) and the first
  // report of its own controller (Ready), not every status write.
  const apiKeyChanged = (kind: string, obj: ApiKey, old?: ApiKey): boolean =>
    kind !== "update" ||
    old === undefined ||
    old === obj ||
    old.metadata.generation !== obj.metadata.generation ||
    old.metadata.deletionTimestamp !== obj.metadata.deletionTimestamp ||
    old.metadata.uid !== obj.metadata.uid ||
    findCondition(old.status?.conditions, "Ready")?.status !== findCondition(obj.status?.conditions, "Ready")?.status;
  return [
    ...stores.apiKeys.watchSpecs(ns, apiKeyChanged),
    ...stores.accessPolicies.watchSpecs(ns),
    ...stores.accessTokens.watchSpecs((t: AccessToken) => (isRevoking(t) ? ns(t) : [])),
    ...stores.secrets.watchSpecs((s) => (s.type === SIGNING_KEY_SECRET_TYPE ? ns(s) : [])),
    ...stores.configMaps.watchSpecs(ns),
    ...stores.rotationPolicies.watchSpecs(ns),
    ...stores.clusterRotationPolicies.watchSpecs(() => stores.apiKeys.namespaces().map(bundleKey)),
    ...(stores.namespaces?.watchDeletion((namespace) => [bundleKey(namespace)]) ?? []),
    // IssuedTokens: a revocation goes into the bundle; every record is deleted once expired.
    ...(stores.issuedTokens?.watchSpecs(ns) ?? []),
  ];
}

export function bundleReconciler(ctx: ControllerContext): ReconcileFunc {
  const { stores } = ctx;
  const lookups = policyLookups(stores);

  return async (key): Promise<ReconcileResult | undefined> => {
    const tenant = parseKey(key).namespace ?? "";
    const at = now(ctx);
    const apiKeys = stores.apiKeys.list(tenant);
    if (stores.namespaces?.tenantTerminating(tenant, apiKeys) === true) {
      // The namespace is being deleted, its bundle with it: no verifier of it is left to protect.
      ctx.metrics.bundleGone(tenant);
      return undefined;
    }
    let cm: ConfigMapObject | null = stores.configMaps.get(tenant, BUNDLE_CONFIGMAP_NAME) ?? null;
    const live = apiKeys.filter((k) => k.metadata.deletionTimestamp === undefined);
    if (cm === null && live.length === 0) {
      // No ApiKey, no bundle: nothing is created in namespaces keyward is not used in.
      ctx.metrics.bundleGone(tenant);
      return undefined;
    }

    const inputs = apiKeys.map((k) => {
      const name = k.metadata.name ?? "";
      const read = signingKeysOf(stores.secrets.get(tenant, signingKeySecretName(name)), {
        namespace: tenant,
        name,
        uid: k.metadata.uid ?? "",
      });
      const policy = resolveRotationPolicy({ apiKey: { namespace: tenant, name, rotationPolicyRef: k.spec?.rotationPolicyRef }, ...lookups });
      return bundleApiKeyInput(k, read, policy);
    });
    const accessTokens = stores.accessTokens.list(tenant);
    const plan = planBundle({
      tenant,
      issuer: ctx.issuer,
      now: at,
      // An ApiKey whose first key is still being minted joins the bundle with it, not before.
      apiKeys: inputs.filter((input, i) => joinsBundle(apiKeys[i], input.keys)),
      accessPolicies: stores.accessPolicies.list(tenant).map((p) => ({ name: p.metadata.name ?? "", spec: p.spec })),
      revocations: [
        ...accessTokens.flatMap((t) => revocationsOf(t, at)),
        ...revocationsFromIssuedTokens(stores.issuedTokens?.list(tenant) ?? [], at),
      ],
      current: cm?.data ?? null,
      ...(ctx.bundleSizeLimit === undefined ? {} : { sizeLimit: ctx.bundleSizeLimit }),
    });
    ctx.metrics.bundlePlanned(tenant, plan.size, !plan.ok);
    const previous = bundleOf(cm ?? undefined);

    if (plan.ok && plan.changed) {
      const desired = bundleConfigMap(tenant, plan.data, plan.bundle.generation);
      try {
        cm = await upsert(ctx, Resources.configMaps, stores.configMaps, desired, cm);
      } catch (err) {
        if (refusedInTerminatingNamespace(ctx.log, err, "bundle", tenant)) {
          ctx.metrics.bundleGone(tenant);
          return undefined;
        }
        // Deleted meanwhile: its deletion wakes this tenant again.
        if (cm !== null && isNotFound(err)) return undefined;
        if (!isAlreadyExists(err)) throw err;
        // Created meanwhile by someone else: plan again from it on the next round.
        await readLive(ctx, Resources.configMaps, tenant, BUNDLE_CONFIGMAP_NAME);
        throw err;
      }
      ctx.metrics.bundleWritten();
    }
    const replaced = plan.events.filter((e) => e.reason === "BundleReplaced");
    if (cm !== null && replaced.length > 0) record(ctx.events, { apiVersion: "v1", kind: "ConfigMap", metadata: cm.metadata }, replaced);

    const tooLarge = plan.events.filter((e) => e.reason === "BundleTooLarge");
    const keysOf = new Map(inputs.map((input) => [input.name, input.keys]));
    const reportable = live.filter((k) => settledForBundle(k, keysOf.get(k.metadata.name ?? "") ?? null));
    await forEachLimited(reportable, STATUS_CONCURRENCY, (k) => reportOn(ctx, k, plan, previous, tooLarge, at));

    const cleanupAt = stores.issuedTokens === undefined ? null : await deleteExpiredIssuedTokens(ctx.client, stores.issuedTokens.list(tenant), at);
    const wake = nextWake(ctx, plan);
    const cleanup = delayUntil(ctx, cleanupAt === null ? null : new Date(cleanupAt.getTime() + 1000));
    const after = earliestDelay(wake?.requeueAfter, cleanup);
    return after === undefined ? undefined : { requeueAfter: after };
  };
}

/**
 * Whether an ApiKey is in the bundle: once it has keys (or its keys cannot be
 * read: the bundle keeps what it has), or once its own controller has reported on
 * it. Until then it has no key a token could be verified with, and listing it
 * would only cost a bundle write.
 */
export function joinsBundle(apiKey: ApiKey | undefined, keys: readonly unknown[] | null): boolean {
  if (apiKey === undefined) return false;
  return keys === null || keys.length > 0 || apiKey.metadata.deletionTimestamp !== undefined || findCondition(apiKey.status?.conditions, "Ready") !== undefined;
}

/**
 * Whether to report on an ApiKey yet: once its own controller has reported on it
 * (Ready is set) and it has keys, or will not get any (Ready is False). An ApiKey
 * whose first key is being minted is reported on once the key is there, instead
 * of once before and once after.
 */
export function settledForBundle(apiKey: ApiKey, keys: readonly unknown[] | null): boolean {
  const ready = findCondition(apiKey.status?.conditions, "Ready");
  if (ready === undefined) return false;
  return ready.status !== "True" || keys === null || keys.length > 0;
}

/** Writes the bundle's part of one ApiKey's status when it changed. */
async function reportOn(ctx: ControllerContext, apiKey: ApiKey, plan: BundlePlan, previous: Bundle | null, tooLarge: PlannedEvent[], at: Date): Promise<void> {
  const tenant = apiKey.metadata.namespace ?? "";
  const name = apiKey.metadata.name ?? "";
  const status = apiKey.status ?? {};
  const report = apiKeyBundleReport(plan, tenant, name);
  const generation = apiKey.metadata.generation;
  const before = findCondition(status.conditions, "Published");
  let bundleGeneration = report.bundleGeneration ?? status.bundleGeneration;
  const inputs: ConditionInput[] = report.conditions.map((c) => (generation === undefined ? c : { ...c, observedGeneration: generation }));
  if (plan.ok && before?.status === "True" && before.reason === "Published" && !entryChanged(previous, plan.bundle, name)) {
    // Published before, and this key's entry is the same: it is still in the generation it was published in.
    bundleGeneration = status.bundleGeneration ?? bundleGeneration;
    for (const c of inputs) if (c.type === "Published") c.message = before.message;
  }
  let conditions: Condition[] = status.conditions ?? [];
  for (const c of inputs) conditions = setCondition(conditions, c, at);
  await applyStatus(
    ctx,
    Resources.apiKeys,
    ctx.stores.apiKeys,
    apiKey,
    { fields: { bundleGeneration: bundleGeneration ?? undefined }, conditionTypes: BUNDLE_CONDITION_TYPES, conditions },
    FieldManagers.bundleStatus,
  );
  record(ctx.events, apiKey, newsworthy([...report.events, ...(plan.ok ? [] : tooLarge)], status.conditions));
}

/** Whether the ApiKey's keys, entry or policies differ between two bundles. */
export function entryChanged(before: Bundle | null, after: Bundle, name: string): boolean {
  const view = (b: Bundle | null): string => {
    if (b === null) return "";
    const entry = b.apiKeys[name];
    const policies = (entry?.policies ?? []).map((p) => [p, b.policies[p] ?? null]);
    return JSON.stringify([b.issuer, entry ?? null, b.keys.filter((k) => k.apiKey === name), policies]);
  };
  return view(before) !== view(after);
}

/** When the bundle must change by time alone: a deposed key's notAfter, or a revocation expiring. */
function nextWake(ctx: ControllerContext, plan: BundlePlan): ReconcileResult | undefined {
  if (!plan.ok) return undefined;
  let prune: number | undefined;
  for (const r of plan.bundle.revoked) {
    if (r.exp === null) continue;
    const due = (r.exp + REVOKED_RETENTION_SECONDS) * 1000;
    if (prune === undefined || due < prune) prune = due;
  }
  const after = earliestDelay(delayUntil(ctx, plan.nextWakeAt), prune === undefined ? undefined : delayUntil(ctx, new Date(prune + 1000)));
  return after === undefined ? undefined : { requeueAfter: after };
}

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
}
