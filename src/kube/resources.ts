// Descriptors of the API resources keyward reads and writes. A descriptor is all
// the client needs to build a URL: no discovery round trip.

export interface Resource {
  /** API group; "" for the core group. */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural used in URLs, e.g. "apikeys". */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export const KEYWARD_GROUP = "keyward.dev";
export const KEYWARD_VERSION = "v1alpha1";

function core(plural: string, kind: string, namespaced = true): Resource {
  return { group: "", version: "v1", plural, kind, namespaced };
}

function keyward(plural: string, kind: string, namespaced = true): Resource {
  return { group: KEYWARD_GROUP, version: KEYWARD_VERSION, plural, kind, namespaced };
}

export const Resources = {
  secrets: core("secrets", "Secret"),
  configMaps: core("configmaps", "ConfigMap"),
  events: core("events", "Event"),
  namespaces: core("namespaces", "Namespace", false),
  leases: { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true },
  eventsV1: { group: "events.k8s.io", version: "v1", plural: "events", kind: "Event", namespaced: true },
  apiKeys: keyward("apikeys", "ApiKey"),
  accessTokens: keyward("accesstokens", "AccessToken"),
  accessPolicies: keyward("accesspolicies", "AccessPolicy"),
  rotationPolicies: keyward("rotationpolicies", "RotationPolicy"),
  clusterRotationPolicies: keyward("clusterrotationpolicies", "ClusterRotationPolicy", false),
  issuedTokens: keyward("issuedtokens", "IssuedToken"),
} as const satisfies Record<string, Resource>;

/** "v1" for the core group, "group/version" otherwise. */
export function apiVersionOf(resource: Resource): string {
  return resource.group === "" ? resource.version : `${resource.group}/${resource.version}`;
}

/**
 * The resource as it is named in metrics, logs and errors: "secrets",
 * "apikeys.keyward.dev", with "/status" for the status subresource.
 */
export function resourceName(resource: Resource, subresource?: string): string {
  const base = resource.group === "" ? resource.plural : `${resource.plural}.${resource.group}`;
  return subresource === undefined ? base : `${base}/${subresource}`;
}

/**
 * The URL path of a collection, an object or a subresource:
 * /api/v1/namespaces/ns/secrets/name, /apis/keyward.dev/v1alpha1/apikeys, …
 * A namespaced resource without a namespace addresses all namespaces (list and watch only).
 */
export function resourcePath(
  resource: Resource,
  opts: { namespace?: string | undefined; name?: string | undefined; subresource?: string | undefined } = {},
): string {
  const root = resource.group === "" ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  let path = root;
  if (resource.namespaced && opts.namespace !== undefined) {
    path += `/namespaces/${encodeURIComponent(opts.namespace)}`;
  }
  path += `/${resource.plural}`;
  if (opts.name !== undefined) {
    path += `/${encodeURIComponent(opts.name)}`;
    if (opts.subresource !== undefined) path += `/${opts.subresource}`;
  }
  return path;
}
