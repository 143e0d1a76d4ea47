export { BUNDLE_SIZE_MARGIN_BYTES, DEFAULT_BUNDLE_SIZE_LIMIT, planBundle } from "./plan.ts";
export type { AccessPolicyInput, BundleApiKeyInput, BundlePlan, PlanBundleInput, PolicyProblems } from "./plan.ts";
export { apiKeyBundleReport } from "./conditions.ts";
export type { ApiKeyBundleReport } from "./conditions.ts";
export { bundleApiKeyInput } from "./inputs.ts";
