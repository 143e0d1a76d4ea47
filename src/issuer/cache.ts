// What the token service reads, all from informer caches (never from the API on
// a request): ApiKeys, their signing-key Secrets (in keyward's system namespace)
// and client-secret-hash Secrets, the controller's bundle records (in keyward's
// system namespace: never the tenants' keyward-bundle ConfigMaps, which their
// editors can write) and the rotation policies.

import type { ApiKey, ClusterRotationPolicy, RotationPolicy } from "../api/types.generated.ts";
import type { KubeClient } from "../kube/client.ts";
import { createInformer, type Informer, type InformerOptions } from "../kube/informer.ts";
import { Resources } from "../kube/resources.ts";
import type { ConfigMapObject } from "../model/bundle/configmap.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../model/names.ts";
import type { SecretObject } from "../model/signing-key/secret.ts";

/** Read access to one kind, by namespace (undefined for cluster-scoped) and name. The controller's Store fits. */
export interface ObjectLookup<T> {
  get(namespace: string | undefined, name: string): T | undefined;
}

export interface IssuerCache {
  /** Whether every cache has synced once; until then the service answers 503. */
  synced(): boolean;
  apiKeys: ObjectLookup<ApiKey>;
  /** Secrets labelled app.kubernetes.io/managed-by=keyward are enough. */
  secrets: ObjectLookup<SecretObject>;
  /**
   * The controller's bundle records (`keyward-bundle-record.<tenant>`) in keyward's own
   * namespace: what the token service checks callers against and serves as each
   * tenant's JWKS. The tenant's own `keyward-bundle` ConfigMap is never read: a
   * namespace editor can write it.
   */
  records: ObjectLookup<ConfigMapObject>;
  /** keyward's own namespace, where the records are. */
  systemNamespace: string;
  rotationPolicies: ObjectLookup<RotationPolicy>;
  clusterRotationPolicies: ObjectLookup<ClusterRotationPolicy>;
}

export interface IssuerInformers {
  apiKeys: Informer<ApiKey>;
  secrets: Informer<SecretObject>;
  records: Informer<ConfigMapObject>;
  rotationPolicies: Informer<RotationPolicy>;
  clusterRotationPolicies: Informer<ClusterRotationPolicy>;
}

function lookup<T extends object>(informer: Informer<T & { metadata?: object }>): ObjectLookup<T> {
  return { get: (namespace, name) => informer.getByName(name, namespace) };
}

/** An IssuerCache over informers (`records` watching keyward's own namespace, `systemNamespace`). */
export function informerCache(informers: IssuerInformers, systemNamespace: string): IssuerCache {
  const all = Object.values(informers) as Informer[];
  return {
    synced: () => all.every((i) => i.hasSynced()),
    apiKeys: lookup(informers.apiKeys),
    secrets: lookup(informers.secrets),
    records: lookup(informers.records),
    systemNamespace,
    rotationPolicies: lookup(informers.rotationPolicies),
    clusterRotationPolicies: lookup(informers.clusterRotationPolicies),
  };
}

/**
 * The informers a standalone token service needs, over all namespaces: Secrets
 * only those keyward manages; ConfigMaps only keyward's own in `systemNamespace`
 * (the bundle records). Not started.
 */
export function createIssuerInformers(client: KubeClient, systemNamespace: string, opts: InformerOptions = {}): IssuerInformers {
  return {
    apiKeys: createInformer<ApiKey>(client, Resources.apiKeys, opts),
    secrets: createInformer<SecretObject>(client, Resources.secrets, { ...opts, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` }),
    records: createInformer<ConfigMapObject>(client, Resources.configMaps, { ...opts, namespace: systemNamespace, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` }),
    rotationPolicies: createInformer<RotationPolicy>(client, Resources.rotationPolicies, opts),
    clusterRotationPolicies: createInformer<ClusterRotationPolicy>(client, Resources.clusterRotationPolicies, opts),
  };
}
