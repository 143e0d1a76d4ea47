// What the tenant bundle says about each ApiKey: whether the AccessPolicies it
// names are in the bundle (AccessPoliciesResolved) and whether its keys are
// published (Published).

import type { PlannedCondition, PlannedEvent } from "../../model/reasons.ts";
import { eventOf } from "../../model/reasons.ts";
import type { BundlePlan } from "./plan.ts";
import { BUNDLE_CONFIGMAP_NAME } from "../../model/names.ts";

export interface ApiKeyBundleReport {
  conditions: PlannedCondition[];
  /** Warnings to record on the ApiKey when a condition turns False. */
  events: PlannedEvent[];
  /** The bundle generation that carries the ApiKey's current state; null when none does. */
  bundleGeneration: number | null;
}

/** The conditions the bundle sets on ApiKey `name` of `tenant` after `plan` was written (when ok). */
export function apiKeyBundleReport(plan: BundlePlan, tenant: string, name: string): ApiKeyBundleReport {
  const conditions: PlannedCondition[] = [];
  const events: PlannedEvent[] = [];
  const who = `ApiKey ${tenant}/${name}`;
  const problems = plan.policyProblems[name] ?? { missing: [], invalid: {} };
  const invalid = Object.entries(problems.invalid);
  if (problems.missing.length === 0 && invalid.length === 0) {
    conditions.push({ type: "AccessPoliciesResolved", status: "True", reason: "AccessPoliciesFound", message: "every AccessPolicy in spec.policies exists" });
  } else {
    const parts: string[] = [];
    if (problems.missing.length > 0) parts.push(`spec.policies names AccessPolicies that do not exist in namespace ${tenant}: ${problems.missing.join(", ")}`);
    for (const [policy, why] of invalid) parts.push(`AccessPolicy ${tenant}/${policy} cannot be published (${why})`);
    const message = `${who}: ${parts.join("; ")}. They grant nothing until fixed: create or fix them, or remove them from spec.policies`;
    conditions.push({ type: "AccessPoliciesResolved", status: "False", reason: "AccessPolicyNotFound", message });
    events.push(eventOf("AccessPolicyNotFound", message));
  }
  if (plan.ok) {
    conditions.push({
      type: "Published",
      status: "True",
      reason: "Published",
      message: `in generation ${plan.bundle.generation} of ConfigMap ${tenant}/${BUNDLE_CONFIGMAP_NAME}`,
    });
    return { conditions, events, bundleGeneration: plan.bundle.generation };
  }
  conditions.push({ type: "Published", status: "False", reason: "BundleTooLarge", message: plan.message });
  return { conditions, events, bundleGeneration: plan.currentGeneration };
}
