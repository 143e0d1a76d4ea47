// Revocation segment ConfigMaps: the tenant's slot `keyward-bundle-revoked-<n>`
// (read by verifiers, named by the bundle's head), and the controller's own copy
// `keyward-bundle-record.<tenant>.revoked-<n>` in keyward's namespace, written
// first, from which a slot an editor changed or deleted is written again.

import { BUNDLE_SEGMENT_DATA_KEY, BUNDLE_SEGMENT_LABEL, BUNDLE_SEGMENT_PREFIX, MANAGED_BY, MANAGED_BY_LABEL, TENANT_LABEL } from "../names.ts";
import type { ConfigMapObject } from "./configmap.ts";
import { bundleRecordName } from "./signing.ts";

/** The record's copy of slot `name` of `tenant`: `keyward-bundle-record.<tenant>.revoked-<n>`. */
export function recordSegmentName(tenant: string, name: string): string {
  return `${bundleRecordName(tenant)}.${name.startsWith(BUNDLE_SEGMENT_PREFIX) ? `revoked-${name.slice(BUNDLE_SEGMENT_PREFIX.length)}` : name}`;
}

/** The tenant's segment slot `name`, holding `text`. */
export function segmentConfigMap(tenant: string, name: string, text: string): ConfigMapObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: tenant, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [BUNDLE_SEGMENT_LABEL]: name } },
    data: { [BUNDLE_SEGMENT_DATA_KEY]: text },
  };
}

/** The record's copy of the tenant's slot `name`. */
export function recordSegmentConfigMap(systemNamespace: string, tenant: string, name: string, text: string): ConfigMapObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: recordSegmentName(tenant, name),
      namespace: systemNamespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [TENANT_LABEL]: tenant, [BUNDLE_SEGMENT_LABEL]: name },
    },
    data: { [BUNDLE_SEGMENT_DATA_KEY]: text },
  };
}

/** The revoked.json a segment ConfigMap holds; undefined when it holds none. */
export function segmentTextOf(cm: ConfigMapObject | undefined): string | undefined {
  return cm?.data?.[BUNDLE_SEGMENT_DATA_KEY];
}
