export {
  BUNDLE_CONFIGMAP_NAME,
  BUNDLE_DATA_KEY,
  BUNDLE_SIZE_MARGIN_BYTES,
  CONFIGMAP_LIMIT_BYTES,
  DEFAULT_BUNDLE_SIZE_LIMIT,
  JWKS_DATA_KEY,
  planBundle,
} from "./plan.ts";
export type { AccessPolicyInput, BundleApiKeyInput, BundlePlan, PlanBundleInput, PolicyProblems } from "./plan.ts";
export { BUNDLE_GENERATION_ANNOTATION, bundleConfigMap } from "./configmap.ts";
export type { ConfigMapObject } from "./configmap.ts";
export { apiKeyBundleReport } from "./conditions.ts";
export type { ApiKeyBundleReport } from "./conditions.ts";
export { bundleApiKeyInput } from "./inputs.ts";
