// The keyring controller: one reconcile keeps the bundle-signing keys (Secret
// keyward-bundle-signing-keys in keyward's namespace) and their published public
// keys (ConfigMap keyward-bundle-trust) in step with planKeyring: a key made,
// published, signing after the overlap, retired, and withdrawn once no tenant
// bundle is signed with it. The Secret is written first, then the ConfigMap, so
// a key is never published without the controller holding it, and never signs
// before it was published for the whole overlap.

import { BUNDLE_SIGNATURE_DATA_KEY, BUNDLE_SIGNING_SECRET_NAME, BUNDLE_TRUST_CONFIGMAP_NAME, TRUST_DATA_KEY } from "../../model/names.ts";
import { bundleSigningSecret, publishedTimes, readBundleSigningSecret, trustConfigMap } from "../../model/bundle/signing.ts";
import { readSignatureHeader } from "../../token/index.ts";
import { Resources } from "../../kube/resources.ts";
import { makeKey } from "../../kube/types.ts";
import { planKeyring } from "../bundle/keyring.ts";
import type { ReconcileFunc, WatchSpec } from "../runtime/controller.ts";
import { Outcome, TerminalError } from "../runtime/outcome.ts";
import { delayUntil, now, type ControllerContext, type Stores } from "./context.ts";
import { upsert } from "./writes.ts";

/** The one key the keyring controller reconciles. */
export function keyringKey(systemNamespace: string): string {
  return makeKey(systemNamespace, BUNDLE_SIGNING_SECRET_NAME);
}

/** The Secret and the trust ConfigMap themselves, and every tenant bundle (which key still signs one). */
export function keyringWatches(stores: Stores): WatchSpec[] {
  const key = [keyringKey(stores.system.namespace)];
  return [
    ...stores.system.secrets.watchSpecs(() => key),
    ...stores.system.configMaps.watchSpecs((cm) => (cm.metadata.name === BUNDLE_TRUST_CONFIGMAP_NAME ? key : [])),
    ...stores.configMaps.watchSpecs(() => key),
  ];
}

export function keyringReconciler(ctx: ControllerContext): ReconcileFunc {
  const { stores } = ctx;
  const ns = stores.system.namespace;
  return async (): Promise<Outcome> => {
    const at = now(ctx);
    const secret = stores.system.secrets.get(ns, BUNDLE_SIGNING_SECRET_NAME);
    const read = readBundleSigningSecret(secret);
    if (read.kind === "invalid") {
      // Only keyward's administrators can write there: never overwrite what they may want back.
      throw new TerminalError(`${read.message}: fix it, or delete it to make new bundle-signing keys (verifiers then load bundles once they see the new key)`);
    }
    const trustCm = stores.system.configMaps.get(ns, BUNDLE_TRUST_CONFIGMAP_NAME);
    const signing = new Set<string>();
    for (const cm of stores.configMaps.list()) {
      const kid = readSignatureHeader(cm.data?.[BUNDLE_SIGNATURE_DATA_KEY] ?? "")?.kid;
      if (kid !== undefined) signing.add(kid);
    }
    const input = {
      now: at,
      document: read.kind === "ok" ? read.document : null,
      published: publishedTimes(trustCm),
      signing,
      rotateEveryMs: ctx.bundleSigning.rotateEveryMs,
      overlapMs: ctx.bundleSigning.overlapMs,
      fresh: null,
    };
    let plan = planKeyring(input);
    if (plan.needsKey) plan = planKeyring({ ...input, fresh: await ctx.mintKey("EdDSA") });
    if (plan.needsKey) throw new Error("planKeyring asked for a key it was given");

    const desired = bundleSigningSecret(ns, plan.document);
    if (read.kind !== "ok" || JSON.stringify(read.document) !== JSON.stringify(plan.document)) {
      await upsert(ctx, Resources.secrets, stores.system.secrets, desired, secret ?? null);
      ctx.log.info({ namespace: ns, kids: plan.document.keys.map((k) => k.jwk.kid) }, "bundle-signing keys written");
    }
    if (trustCm?.data?.[TRUST_DATA_KEY] !== plan.trust) {
      await upsert(ctx, Resources.configMaps, stores.system.configMaps, trustConfigMap(ns, plan.trust), trustCm ?? null);
    }
    const delay = delayUntil(ctx, plan.wakeAt === null ? null : new Date(plan.wakeAt.getTime() + 1000));
    return delay === undefined ? Outcome.done() : Outcome.requeueAfter(delay);
  };
}
