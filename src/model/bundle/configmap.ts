// The tenant's bundle ConfigMap, keyward-bundle: bundle.json, jwks.json and, once signed, bundle.jws.

import type { ObjectMeta } from "../../api/types.generated.ts";
import { BUNDLE_CONFIGMAP_NAME, BUNDLE_DATA_KEY, BUNDLE_GENERATION_ANNOTATION, BUNDLE_SIGNATURE_DATA_KEY, JWKS_DATA_KEY, MANAGED_BY, MANAGED_BY_LABEL } from "../names.ts";

/** A core/v1 ConfigMap, as much of it as keyward writes. */
export interface ConfigMapObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

/** The ConfigMap holding a planned bundle. The generation is repeated in an annotation for `kubectl get -o wide`-style tooling. */
export function bundleConfigMap(
  tenant: string,
  data: { [BUNDLE_DATA_KEY]: string; [JWKS_DATA_KEY]: string; [BUNDLE_SIGNATURE_DATA_KEY]?: string },
  generation: number,
): ConfigMapObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: BUNDLE_CONFIGMAP_NAME,
      namespace: tenant,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: { [BUNDLE_GENERATION_ANNOTATION]: String(generation) },
    },
    data: {
      [BUNDLE_DATA_KEY]: data[BUNDLE_DATA_KEY],
      [JWKS_DATA_KEY]: data[JWKS_DATA_KEY],
      ...(data[BUNDLE_SIGNATURE_DATA_KEY] === undefined ? {} : { [BUNDLE_SIGNATURE_DATA_KEY]: data[BUNDLE_SIGNATURE_DATA_KEY] }),
    },
  };
}
