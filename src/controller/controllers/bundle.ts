// The bundle controller: one reconcile per tenant namespace writes its
// keyward-bundle ConfigMap (bundle.json, jwks.json and the signature bundle.jws)
// from the ApiKeys, their signing-key Secrets, the AccessPolicies, the
// revocations of AccessTokens and the controller's own record of the bundle (in
// keyward's namespace, written first: what is carried over comes from there,
// never from the tenant's ConfigMap). The generation grows on each content change
// and only then; the signature is renewed when the signing key changes or it is
// older than --bundle-resign-after, and only then is an unchanged bundle rewritten. Afterwards it
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
import { signingKeyTenantOf } from "../../model/signing-key/location.ts";
import { apiKeyBundleReport } from "../bundle/conditions.ts";
import { bundleConfigMap, type ConfigMapObject } from "../../model/bundle/configmap.ts";
import { bundleApiKeyInput } from "../bundle/inputs.ts";
import { planBundle, type BundlePlan } from "../bundle/plan.ts";
import type { PlannedSegment } from "../bundle/segments.ts";
import { recordSegmentConfigMap, recordSegmentName, segmentConfigMap, segmentTextOf } from "../../model/bundle/segments.ts";
import { resolveRotationPolicy } from "../../model/policy/resolve.ts";
import type { PlannedEvent } from "../../model/reasons.ts";
import type { ReconcileFunc, WatchSpec } from "../runtime/controller.ts";
import { Outcome } from "../runtime/outcome.ts";
import { findCondition, type ConditionInput } from "../../model/conditions.ts";
import { bundleKey } from "./apikey.ts";
import { bundleOf, bundleSigningOf, currentSigningKeys } from "./memo.ts";
import { bundleRecordConfigMap, bundleRecordName } from "../../model/bundle/signing.ts";
import { planSignature } from "../bundle/sign.ts";
import { delayUntil, earliestDelay, now, policyLookups, type ControllerContext, type Stores } from "./context.ts";
import { record } from "./events.ts";
import { refusedInTerminatingNamespace } from "./namespaces.ts";
import { statusHoldsPart, type BundlePart } from "./handover.ts";
import { deleteExpiredIssuedTokens } from "./issuedtokens.ts";
import { readLive, upsert } from "./writes.ts";
import { BUNDLE_SIGNING_SECRET_NAME, BUNDLE_CONFIGMAP_NAME, BUNDLE_DATA_KEY, BUNDLE_SIGNATURE_DATA_KEY, TENANT_LABEL, bundleSegmentNames } from "../../model/names.ts";
import type { RevokedEntry } from "../../token/index.ts";

export function bundleWatches(stores: Stores, systemNamespace: string): WatchSpec[] {
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
    ...stores.secrets.watchSpecs((s) => {
      const owner = signingKeyTenantOf(s, systemNamespace);
      return owner === null ? [] : [bundleKey(owner.namespace)];
    }),
    ...stores.configMaps.watchSpecs(ns),
    // A revocation segment slot changed (or was deleted) under the controller: it is written again.
    ...stores.bundleSegments.watchSpecs(ns),
    ...stores.rotationPolicies.watchSpecs(ns),
    ...stores.clusterRotationPolicies.watchSpecs(() => stores.apiKeys.namespaces().map(bundleKey)),
    ...(stores.namespaces?.watchDeletion((namespace) => [bundleKey(namespace)]) ?? []),
    // IssuedTokens: a revocation goes into the bundle; every record is deleted once expired.
    ...(stores.issuedTokens?.watchSpecs(ns) ?? []),
    // The bundle-signing key changed: every bundle is signed again. A record changed: its tenant.
    ...stores.system.secrets.watchSpecs(() => [...new Set([...stores.apiKeys.namespaces(), ...stores.configMaps.namespaces()])].map(bundleKey)),
    ...stores.system.configMaps.watchSpecs((cm) => {
      const tenant = cm.metadata.labels?.[TENANT_LABEL];
      return tenant === undefined ? [] : [bundleKey(tenant)];
    }),
  ];
}

/**
 * The revocations the bundle must carry: every AccessToken that is revoked or
 * being deleted, the tokens of AccessTokens already gone whose token Secrets
 * still hold their record (until the bundle lists them and their finalizer
 * goes), and every revoked IssuedToken. Once listed, a deleted AccessToken's
 * entries live on in the controller's record until they expire.
 */
export function revocationsForBundle(ctx: Pick<ControllerContext, "stores" | "deletedTokens">, tenant: string, at: Date): RevokedEntry[] {
  const { stores } = ctx;
  return [
    ...stores.accessTokens.list(tenant).flatMap((t) => revocationsOf(t, at)),
    // Tokens whose AccessToken is gone, from their token Secrets' records (tokensecrets.ts).
    ...ctx.deletedTokens.revocations(tenant),
    ...revocationsFromIssuedTokens(stores.issuedTokens?.list(tenant) ?? [], at),
  ];
}

export function bundleReconciler(ctx: ControllerContext): ReconcileFunc {
  const { stores } = ctx;
  const lookups = policyLookups(stores);

  return async (key): Promise<Outcome> => {
    const tenant = parseKey(key).namespace ?? "";
    const at = now(ctx);
    const apiKeys = stores.apiKeys.list(tenant);
    const system = stores.system;
    if (stores.namespaces?.tenantTerminating(tenant, apiKeys) === true) {
      // The namespace is being deleted, its bundle with it: no verifier of it is left to protect.
      // The record stays: a namespace of the same name later continues its generations, and
      // carries nothing of an ApiKey whose uid differs.
      ctx.metrics.bundleGone(tenant);
      ctx.reports.dropTenant(tenant);
      return Outcome.done();
    }
    // Nothing is written unsigned: until the keyring controller has a key, its write wakes every tenant.
    const signing = bundleSigningOf(system.secrets.get(system.namespace, BUNDLE_SIGNING_SECRET_NAME));
    if (signing === null) return Outcome.done();
    const recordCm = system.configMaps.get(system.namespace, bundleRecordName(tenant)) ?? null;
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
      const read = currentSigningKeys(stores, ctx.systemNamespace, { namespace: tenant, name, uid: k.metadata.uid ?? "" });
      const policy = resolveRotationPolicy({ apiKey: { namespace: tenant, name, rotationPolicyRef: k.spec?.rotationPolicyRef }, ...lookups });
      return bundleApiKeyInput(k, read, policy);
    });
    const plan = planBundle({
      tenant,
      issuer: ctx.issuer,
      now: at,
      // An ApiKey whose first key is still being minted joins the bundle with it, not before.
      apiKeys: inputs.filter((input, i) => joinsBundle(apiKeys[i], input.keys)),
      accessPolicies: stores.accessPolicies.list(tenant).map((p) => ({ name: p.metadata.name ?? "", spec: p.spec })),
      revocations: revocationsForBundle(ctx, tenant, at),
      current: cm?.data ?? null,
      record: recordCm?.data?.[BUNDLE_DATA_KEY] ?? null,
      trust: signing.trust,
      ...(ctx.bundleSizeLimit === undefined ? {} : { sizeLimit: ctx.bundleSizeLimit }),
      ...(ctx.bundleSealAt === undefined ? {} : { sealAt: ctx.bundleSealAt }),
      ...segmentTexts(stores, tenant),
    });
    ctx.metrics.bundlePlanned(tenant, plan.size, !plan.ok);
    const previous = bundleOf(cm ?? undefined);

    // The segments the bundle names, before the bundle: the record's copy, then the tenant's slot.
    if (plan.ok && !(await writeSegments(ctx, tenant, plan.segments))) return Outcome.done();
    if (plan.ok && plan.changed) {
      // The record first: a bundle is never published that the record does not hold.
      await upsert(ctx, Resources.configMaps, system.configMaps, bundleRecordConfigMap(system.namespace, tenant, plan.data[BUNDLE_DATA_KEY]), recordCm);
    }
    const signature = plan.ok
      ? planSignature({
          bundleJson: plan.data[BUNDLE_DATA_KEY],
          currentBundle: cm?.data?.[BUNDLE_DATA_KEY],
          currentSignature: cm?.data?.[BUNDLE_SIGNATURE_DATA_KEY],
          signer: signing.signer,
          trust: signing.trust,
          now: at,
          resignAfterMs: ctx.bundleSigning.resignAfterMs,
        })
      : null;
    if (plan.ok && signature !== null && (!plan.inPlace || !signature.kept)) {
      const desired = bundleConfigMap(tenant, { ...plan.data, [BUNDLE_SIGNATURE_DATA_KEY]: signature.jws }, plan.bundle.generation);
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
    const resignAt = signature?.resignAt ?? null;
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
    return Outcome.requeueAfter(earliestDelay(nextWake(ctx, plan), cleanup, delayUntil(ctx, resignAt)));
  };
}

/** The revoked.json of every segment slot of `tenant`: the record's copies and the tenant's own. */
function segmentTexts(stores: Stores, tenant: string): { recordSegments: Map<string, string>; tenantSegments: Map<string, string> } {
  const recordSegments = new Map<string, string>();
  const tenantSegments = new Map<string, string>();
  for (const name of bundleSegmentNames()) {
    const copy = segmentTextOf(stores.system.configMaps.get(stores.system.namespace, recordSegmentName(tenant, name)));
    if (copy !== undefined) recordSegments.set(name, copy);
    const slot = segmentTextOf(stores.bundleSegments.get(tenant, name));
    if (slot !== undefined) tenantSegments.set(name, slot);
  }
  return { recordSegments, tenantSegments };
}

/**
 * Writes each segment the bundle names where it does not hold the planned text:
 * the record's copy first, then the tenant's slot (a slot changed or deleted by
 * someone else is written again). Returns false when the namespace is being
 * deleted (nothing more is written there).
 */
async function writeSegments(ctx: ControllerContext, tenant: string, segments: readonly PlannedSegment[]): Promise<boolean> {
  const { stores } = ctx;
  const system = stores.system;
  for (const s of segments) {
    const copy = system.configMaps.get(system.namespace, recordSegmentName(tenant, s.ref.name)) ?? null;
    if (segmentTextOf(copy ?? undefined) !== s.text) {
      await upsertOwned(ctx, system.configMaps, recordSegmentConfigMap(system.namespace, tenant, s.ref.name, s.text), copy);
    }
    const slot = stores.bundleSegments.get(tenant, s.ref.name) ?? null;
    if (segmentTextOf(slot ?? undefined) === s.text) continue;
    try {
      await upsertOwned(ctx, stores.bundleSegments, segmentConfigMap(tenant, s.ref.name, s.text), slot);
    } catch (err) {
      if (refusedInTerminatingNamespace(ctx.log, err, "bundle", tenant)) {
        ctx.metrics.bundleGone(tenant);
        return false;
      }
      throw err;
    }
    ctx.metrics.bundleWritten();
  }
  return true;
}

/** upsert, and when the cache did not know the object (its label was taken off), replace what is there. */
async function upsertOwned(ctx: ControllerContext, store: Stores["bundleSegments"], desired: ConfigMapObject, current: ConfigMapObject | null): Promise<void> {
  try {
    await upsert(ctx, Resources.configMaps, store, desired, current);
  } catch (err) {
    if (current !== null || !isAlreadyExists(err)) throw err;
    const live = await readLive<ConfigMapObject>(ctx, Resources.configMaps, desired.metadata.namespace ?? "", desired.metadata.name ?? "");
    await upsert(ctx, Resources.configMaps, store, desired, live);
  }
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
