// The controller's bundle functions, as the fixture uses them.
import { planBundle, type PlanBundleInput } from "../../../src/controller/bundle/index.ts";
import type { Bundle } from "../../../src/token/index.ts";
import { bundleKeysOf } from "../../../src/model/signing-key/secret.ts";
import { bundleConfigMap, type ConfigMapObject } from "../../../src/model/bundle/configmap.ts";

export { bundleConfigMap, bundleKeysOf, type ConfigMapObject };

export function planBundleFor(input: PlanBundleInput): { data: { "bundle.json": string; "jwks.json": string }; bundle: Bundle } {
  const plan = planBundle(input);
  if (!plan.ok) throw new Error(plan.message);
  return { data: plan.data, bundle: plan.bundle };
}
