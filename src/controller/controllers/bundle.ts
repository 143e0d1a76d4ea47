// The bundle controller: one reconcile per tenant namespace writes its
// keyward-bundle ConfigMap (bundle.json and jwks.json) from the ApiKeys, their
// signing-key Secrets, the AccessPolicies and the revocations of AccessTokens.
// The generation grows on each content change and only then. Afterwards it
// works out the bundle's part of each ApiKey's status (AccessPoliciesResolved,
// Published, bundleGeneration) and hands it to the ApiKey controller, the one
// writer of that status (handover.ts, the status hand-over); an ApiKey whose entry did not change keeps
// the generation it was published in, so a change to one key does not rewrite
// the status of every other.

import type { AccessToken, ApiKey } from "../../api/types.generated.ts";
import { isAlreadyExists, isNotFound } from "../../kube/errors.ts";
import { Resources } from "../../kube/resources.ts";
import { parseKey } from "../../kube/types.ts";
import { REVOKED_RETENTION_SECONDS, type Bundle } from "../../token/index.ts";
import { revocationsFromIssuedTokens } from "../../model/issued-token.ts";
import { isRevoking, revocationsOf } from "../accesstoken/revocations.ts";
import { signingKeySecretName } from "../../model/signing-key/secret.ts";
import { apiKeyBundleReport } from "../bundle/conditions.ts";
import { bundleConfigMap, type ConfigMapObject } from "../../model/bundle/configmap.ts";
import { bundleApiKeyInput } from "../bundle/inputs.ts";
import { planBundle, type BundlePlan } from "../bundle/plan.ts";
import { resolveRotationPolicy } from "../../model/policy/resolve.ts";
import type { PlannedEvent } from "../../model/reasons.ts";
import type { ReconcileFunc, WatchSpec } from "../runtime/controller.ts";
import { Outcome } from "../runtime/outcome.ts";
import { findCondition, type ConditionInput } from "../../model/conditions.ts";
import { bundleKey } from "./apikey.ts";
import { bundleOf, signingKeysOf } from "./memo.ts";
import { delayUntil, earliestDelay, now, policyLookups, type ControllerContext, type Stores } from "./context.ts";
import { record } from "./events.ts";
import { refusedInTerminatingNamespace } from "./namespaces.ts";
import { statusHoldsPart, type BundlePart } from "./handover.ts";
import { deleteExpiredIssuedTokens } from "./issuedtokens.ts";
import { readLive, upsert } from "./writes.ts";
import { SIGNING_KEY_SECRET_TYPE, BUNDLE_CONFIGMAP_NAME } from "../../model/names.ts";

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

  return async (key): Promise<Outcome> => {
    const tenant = parseKey(key).namespace ?? "";
    const at = now(ctx);
    const apiKeys = stores.apiKeys.list(tenant);
    if (stores.namespaces?.tenantTerminating(tenant, apiKeys) === true) {
      // The namespace is being deleted, its bundle with it: no verifier of it is left to protect.
      ctx.metrics.bundleGone(tenant);
      ctx.reports.dropTenant(tenant);
      return Outcome.done();
    }
    let cm: ConfigMapObject | null = stores.configMaps.get(tenant, BUNDLE_CONFIGMAP_NAME) ?? null;
    const live = apiKeys.filter((k) => k.metadata.deletionTimestamp === undefined);
    if (cm === null && live.length === 0) {
      // No ApiKey, no bundle: nothing is created in namespaces keyward is not used in.
      ctx.metrics.bundleGone(tenant);
      ctx.reports.dropTenant(tenant);
      return Outcome.done();
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
        // Tokens whose AccessToken is gone, from their token Secrets' records (tokensecrets.ts).
        ...ctx.deletedTokens.revocations(tenant),
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
          return Outcome.done();
        }
        // Deleted meanwhile: its deletion wakes this tenant again.
        if (cm !== null && isNotFound(err)) return Outcome.done();
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
    const parts = new Map<string, BundlePart>();
    const changed: string[] = [];
    for (const k of reportable) {
      const name = k.metadata.name ?? "";
      const part = bundlePartOf(k, plan, previous, tooLarge, ctx.reports.last(tenant, name, k.metadata.uid ?? ""), cm?.metadata.resourceVersion);
      parts.set(name, part);
      if (!statusHoldsPart(k, part, at)) changed.push(name);
    }
    ctx.reports.replaceTenant(tenant, parts, changed);

    const cleanupAt = stores.issuedTokens === undefined ? null : await deleteExpiredIssuedTokens(ctx.client, stores.issuedTokens.list(tenant), at);
    const cleanup = delayUntil(ctx, cleanupAt === null ? null : new Date(cleanupAt.getTime() + 1000));
    return Outcome.requeueAfter(earliestDelay(nextWake(ctx, plan), cleanup));
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
 * Whether to work out the bundle's part of an ApiKey's status yet: once it has
 * keys (its first status then waits for this part: one write instead of two),
 * or once its own controller has reported on it and it will not get any (Ready
 * is False) or they cannot be read. An ApiKey whose first key is being minted is
 * reported on once the key is there, instead of once before and once after.
 */
export function settledForBundle(apiKey: ApiKey, keys: readonly unknown[] | null): boolean {
  if (keys !== null && keys.length > 0) return true;
  const ready = findCondition(apiKey.status?.conditions, "Ready");
  if (ready === undefined) return false;
  return ready.status !== "True" || keys === null;
}

/**
 * The bundle's part of one ApiKey's status after `plan`. `last` is the part
 * worked out before (it may not be written yet); without one, the status says
 * what was published before.
 */
export function bundlePartOf(
  apiKey: ApiKey,
  plan: BundlePlan,
  previous: Bundle | null,
  tooLarge: PlannedEvent[],
  last: BundlePart | undefined,
  bundleVersion: string | undefined,
): BundlePart {
  const tenant = apiKey.metadata.namespace ?? "";
  const name = apiKey.metadata.name ?? "";
  const status = apiKey.status ?? {};
  const report = apiKeyBundleReport(plan, tenant, name);
  const generation = apiKey.metadata.generation;
  const before =
    last === undefined
      ? findCondition(status.conditions, "Published")
      : last.conditions.find((c) => c.type === "Published");
  const generationBefore = last === undefined ? status.bundleGeneration : last.bundleGeneration;
  let bundleGeneration = report.bundleGeneration ?? generationBefore;
  const conditions: ConditionInput[] = report.conditions.map((c) => (generation === undefined ? c : { ...c, observedGeneration: generation }));
  if (plan.ok && before?.status === "True" && before.reason === "Published" && !entryChanged(previous, plan.bundle, name)) {
    // Published before, and this key's entry is the same: it is still in the generation it was published in.
    bundleGeneration = generationBefore ?? bundleGeneration;
    for (const c of conditions) if (c.type === "Published") c.message = before.message;
  }
  return {
    uid: apiKey.metadata.uid ?? "",
    bundleVersion,
    bundleGeneration: bundleGeneration ?? undefined,
    conditions,
    events: [...report.events, ...(plan.ok ? [] : tooLarge)],
  };
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
function nextWake(ctx: ControllerContext, plan: BundlePlan): number | undefined {
  if (!plan.ok) return undefined;
  let prune: number | undefined;
  for (const r of plan.bundle.revoked) {
    if (r.exp === null) continue;
    const due = (r.exp + REVOKED_RETENTION_SECONDS) * 1000;
    if (prune === undefined || due < prune) prune = due;
  }
  return earliestDelay(delayUntil(ctx, plan.nextWakeAt), prune === undefined ? undefined : delayUntil(ctx, new Date(prune + 1000)));
}
