// What every reconciler of the controller shares: the client, the caches, the
// clock, the issuer, the Event recorders and the metrics.

import type { IssuerForm } from "../../token/index.ts";
import type { AccessPolicy, AccessToken, ApiKey, ClusterRotationPolicy, IssuedToken, RotationPolicy } from "../../api/types.generated.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { Clock } from "../../kube/clock.ts";
import type { Logger } from "../../kube/logger.ts";
import type { KeyFactory } from "../apikey/plan.ts";
import type { SecretObject } from "../../model/signing-key/secret.ts";
import type { Signer } from "../../model/signing-key/signer.ts";
import type { ConfigMapObject } from "../../model/bundle/configmap.ts";
import type { RotationPolicySpecInput } from "../../model/policy/types.ts";
import type { Reason } from "../../model/reasons.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { TenantNamespaces } from "./namespaces.ts";
import type { PolicyReason } from "../../model/reasons.ts";
import type { BundleReports } from "./handover.ts";
import type { DeletedTokens } from "./tokensecrets.ts";
import type { Store } from "./store.ts";
import type { VerifierViews } from "../verifiers/views.ts";

export interface Stores {
  apiKeys: Store<ApiKey>;
  accessTokens: Store<AccessToken>;
  accessPolicies: Store<AccessPolicy>;
  rotationPolicies: Store<RotationPolicy>;
  clusterRotationPolicies: Store<ClusterRotationPolicy>;
  /** Only Secrets labelled app.kubernetes.io/managed-by=keyward: of the tenants, and of the system namespace (signing keys). */
  secrets: Store<SecretObject>;
  /** Only ConfigMaps named keyward-bundle. */
  configMaps: Store<ConfigMapObject>;
  /** The tenants' revocation segment slots (ConfigMaps labelled keyward.dev/bundle-segment). */
  bundleSegments: Store<ConfigMapObject>;
  /** The token service's records (src/issuer); absent while the token service is off. */
  issuedTokens?: Store<IssuedToken> | undefined;
  /** The tenant namespaces (which are being deleted); absent: only a refused create tells. */
  namespaces?: TenantNamespaces | undefined;
  /** keyward's own namespace: the bundle-signing Secret, the trust ConfigMap and the bundle records. */
  system: SystemStores;
}

export interface SystemStores {
  namespace: string;
  /** Only the bundle-signing Secret. */
  secrets: Store<SecretObject>;
  /** Only ConfigMaps labelled app.kubernetes.io/managed-by=keyward: the trust ConfigMap and the records. */
  configMaps: Store<ConfigMapObject>;
}

/** How bundles are signed (docs/controller.md, "Bundle signing"). */
export interface BundleSigningSettings {
  /** A tenant bundle's signature is renewed once older than this (the ConfigMap is rewritten). */
  resignAfterMs: number;
  /** A bundle-signing key signs this long before its successor is made. */
  rotateEveryMs: number;
  /** A new key is published this long before it signs; a retired one stays published this long after. */
  overlapMs: number;
}

/** The field managers of the controller's writes. Each kind's status has one writer. */
export const FieldManagers = {
  /** Secrets, the bundle ConfigMap, finalizers. */
  controller: "keyward-controller",
  /** The whole ApiKey status, the bundle's part included (handover.ts, the status hand-over). */
  apiKeyStatus: "keyward-apikey",
  accessTokenStatus: "keyward-accesstoken",
  issuedTokenStatus: "keyward-issuedtoken",
  policyStatus: "keyward-policy",
} as const;

export interface ControllerContext {
  client: KubeClient;
  stores: Stores;
  clock: Clock;
  /** The configured issuer: the `issuer` of every bundle. */
  issuer: string;
  /** The `iss` of issued tokens: `{issuer}/{tenant}` ("tenant") or the issuer ("shared"). */
  issuerForm: IssuerForm;
  log: Logger;
  events: EventRecorder<Reason>;
  policyEvents: EventRecorder<PolicyReason>;
  metrics: ControllerMetrics;
  /** The bundle's part of each ApiKey's status, from the bundle reconciler to the ApiKey controller. */
  reports: BundleReports;
  /** The revocations of tokens whose AccessToken is gone, from their token Secrets to the bundle reconciler. */
  deletedTokens: DeletedTokens;
  /** Largest bundle.json + jwks.json; the bundle planner's default when undefined. */
  bundleSizeLimit: number | undefined;
  /** Revocations bundle.json carries before they move into a segment; the planner's default when undefined. */
  bundleSealAt: number | undefined;
  mintKey: KeyFactory;
  /** keyward's own namespace: the ApiKeys' signing-key Secrets live there, never in a tenant's. */
  systemNamespace: string;
  /** Signs tokens with the ApiKeys' keys, and forgets keys that are gone (model/signing-key/signer.ts). */
  signer: Signer;
  /** What each tenant's verifiers report (their Leases); absent when reports are not read. */
  verifiers?: VerifierViews | null | undefined;
  bundleSigning: BundleSigningSettings;
}

/** The context's clock as a Date. */
export function now(ctx: Pick<ControllerContext, "clock">): Date {
  return new Date(ctx.clock.now());
}

/** The spec lookups the policy resolver takes, over the caches. */
export function policyLookups(stores: Pick<Stores, "rotationPolicies" | "clusterRotationPolicies">): {
  getRotationPolicy: (namespace: string, name: string) => RotationPolicySpecInput | undefined;
  getClusterRotationPolicy: (name: string) => RotationPolicySpecInput | undefined;
} {
  return {
    getRotationPolicy: (namespace, name) => stores.rotationPolicies.get(namespace, name)?.spec,
    getClusterRotationPolicy: (name) => stores.clusterRotationPolicies.get(undefined, name)?.spec,
  };
}

/**
 * The longest requeue: work due later is looked at again after this long (a
 * level-based reconcile then finds nothing to do and requeues again). Timers
 * cannot be longer than 2^31 - 1 ms (24.8 days) anyway: Node fires longer ones at once.
 */
export const MAX_REQUEUE_MS = 12 * 3_600_000;

/** Milliseconds from now until `at`, at least 1 and at most MAX_REQUEUE_MS; undefined for no time. */
export function delayUntil(ctx: Pick<ControllerContext, "clock">, at: Date | null | undefined): number | undefined {
  if (at === null || at === undefined) return undefined;
  return Math.min(MAX_REQUEUE_MS, Math.max(1, at.getTime() - ctx.clock.now()));
}

/** The earliest requeue of several. */
export function earliestDelay(...delays: (number | undefined)[]): number | undefined {
  let best: number | undefined;
  for (const d of delays) if (d !== undefined && (best === undefined || d < best)) best = d;
  return best;
}
