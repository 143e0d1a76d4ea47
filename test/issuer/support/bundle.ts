// The controller's bundle functions, as the fixture uses them.
import { bundleKeysOf } from "../../../src/controller/apikey/index.ts";
import { bundleConfigMap, planBundle, type ConfigMapObject, type PlanBundleInput } from "../../../src/controller/bundle/index.ts";
import type { Bundle } from "../../../src/token/index.ts";

export { bundleConfigMap, bundleKeysOf, type ConfigMapObject };

export function planBundleFor(input: PlanBundleInput): { data: { "bundle.json": string; "jwks.json": string }; bundle: Bundle } {
  const plan = planBundle(input);
  if (!plan.ok) throw new Error(plan.message);
  return { data: plan.data, bundle: plan.bundle };
}
