// Status of the policy kinds. AccessPolicy: status.ruleCount, and the Valid
// (and Ready) condition naming every rule and pattern the verifier would refuse.
// RotationPolicy and ClusterRotationPolicy: the Valid condition, from the same
// validation the ApiKey controller applies (cron parses, time zone exists,
// prePublish shorter than the interval, lifetimes fit).

import type { AccessPolicySpec } from "../../api/types.generated.ts";
import type { Resource } from "../../kube/resources.ts";
import { Resources } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import { BUNDLE_API_VERSION, BundleError, pathPatternProblem, validateBundle } from "../../token/index.ts";
import { compileRotationPolicy } from "../../model/policy/compile.ts";
import type { PolicySource } from "../../model/policy/types.ts";
import type { ReconcileFunc } from "../runtime/controller.ts";
import { Outcome } from "../runtime/outcome.ts";
import { findCondition, setCondition, type Condition } from "../../model/conditions.ts";
import { FieldManagers, now, type ControllerContext } from "./context.ts";
import { Reasons, type PolicyReason } from "../../model/reasons.ts";
import type { Store } from "./store.ts";
import { writeStatus } from "./writes.ts";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"]);

/** Every problem of an AccessPolicy's rules, each naming the rule, the field and the fix. Empty when it is valid. */
export function accessPolicyProblems(spec: AccessPolicySpec | undefined): string[] {
  const problems: string[] = [];
  const rules = spec?.rules ?? [];
  if (rules.length === 0) problems.push("spec.rules is empty: add at least one rule");
  rules.forEach((rule, i) => {
    const at = `spec.rules[${i}]`;
    const methods = rule.methods as readonly string[];
    methods.forEach((m, j) => {
      if (!METHODS.has(m)) problems.push(`${at}.methods[${j}] "${m}" is not a method keyword: use GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or "*"`);
    });
    if (methods.includes("*") && methods.length > 1) problems.push(`${at}.methods: "*" already matches every method; list it alone or list the methods one by one`);
    rule.paths.forEach((p, j) => {
      const problem = pathPatternProblem(p);
      if (problem !== null) problems.push(`${at}.paths[${j}] "${p}" ${problem}`);
      else if (p.split("/").slice(0, -1).includes("**")) problems.push(`${at}.paths[${j}] "${p}": "**" may only be the last segment (/a/**)`);
    });
  });
  if (problems.length > 0) return problems;
  // Whatever else the verifier's own bundle validation refuses.
  try {
    validateBundle({
      apiVersion: BUNDLE_API_VERSION,
      tenant: "t",
      issuer: "i",
      generation: 0,
      generatedAt: "1970-01-01T00:00:00Z",
      keys: [],
      apiKeys: {},
      policies: { p: { rules: rules.map((r) => ({ effect: r.effect ?? "Allow", methods: [...r.methods], paths: [...r.paths] })) } },
      revoked: [],
    });
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    problems.push(err.message.replace(/policies\.p\./g, "spec."));
  }
  return problems;
}

interface PolicyObject extends KubeObject {
  metadata: { name?: string; namespace?: string; generation?: number };
  status?: { conditions?: Condition[] };
}

function conditionsFor(
  obj: PolicyObject,
  types: readonly string[],
  valid: boolean,
  reason: PolicyReason,
  message: string,
  at: Date,
): Condition[] {
  let conditions = obj.status?.conditions ?? [];
  const generation = obj.metadata.generation;
  for (const type of types) {
    conditions = setCondition(conditions, { type, status: valid ? "True" : "False", reason, message, ...(generation === undefined ? {} : { observedGeneration: generation }) }, at);
  }
  return conditions;
}

async function report(
  ctx: ControllerContext,
  resource: Resource,
  store: Store<PolicyObject>,
  obj: PolicyObject,
  fields: Record<string, unknown>,
  types: readonly string[],
  reason: PolicyReason,
  message: string,
): Promise<void> {
  const valid = Reasons[reason].conditions[0][1] === "True";
  const conditions = conditionsFor(obj, types, valid, reason, message, now(ctx));
  const before = findCondition(obj.status?.conditions, "Valid");
  await writeStatus(ctx, resource, store, obj, { fields, conditionTypes: types, conditions }, FieldManagers.policyStatus);
  if (!valid && (before?.reason !== reason || before.message !== message)) void ctx.policyEvents.warning(obj, reason, message);
}

export function accessPolicyReconciler(ctx: ControllerContext): ReconcileFunc {
  const store = ctx.stores.accessPolicies as unknown as Store<PolicyObject>;
  return async (key): Promise<Outcome> => {
    const policy = ctx.stores.accessPolicies.getKey(key);
    if (policy === undefined || policy.metadata.deletionTimestamp !== undefined) return Outcome.done();
    const problems = accessPolicyProblems(policy.spec);
    const ruleCount = policy.spec.rules.length;
    const who = `AccessPolicy ${policy.metadata.namespace ?? ""}/${policy.metadata.name ?? ""}`;
    const [reason, message]: [PolicyReason, string] =
      problems.length === 0
        ? ["RulesValid", `${ruleCount} rule${ruleCount === 1 ? "" : "s"}, all valid`]
        : ["InvalidRules", `${who}: ${problems.join("; ")}. Verifiers cannot enforce it, so ApiKeys attaching it get nothing from it until it is fixed`];
    const fields = { ruleCount, ...(policy.metadata.generation === undefined ? {} : { observedGeneration: policy.metadata.generation }) };
    await report(ctx, Resources.accessPolicies, store, policy, fields, ["Valid", "Ready"], reason, message);
    return Outcome.done();
  };
}

export function rotationPolicyReconciler(ctx: ControllerContext, kind: "RotationPolicy" | "ClusterRotationPolicy"): ReconcileFunc {
  const resource = kind === "RotationPolicy" ? Resources.rotationPolicies : Resources.clusterRotationPolicies;
  const typed = kind === "RotationPolicy" ? ctx.stores.rotationPolicies : ctx.stores.clusterRotationPolicies;
  const store = typed as unknown as Store<PolicyObject>;
  return async (key): Promise<Outcome> => {
    const policy = typed.getKey(key);
    if (policy === undefined || policy.metadata.deletionTimestamp !== undefined) return Outcome.done();
    const name = policy.metadata.name ?? "";
    const source: PolicySource = kind === "RotationPolicy" ? { kind, name, namespace: policy.metadata.namespace } : { kind, name };
    const result = compileRotationPolicy(source, policy.spec);
    const who = kind === "RotationPolicy" ? `RotationPolicy ${policy.metadata.namespace ?? ""}/${name}` : `ClusterRotationPolicy ${name}`;
    const [reason, message]: [PolicyReason, string] = result.ok
      ? ["PolicyValid", describeSchedule(result.policy.schedule)]
      : ["InvalidPolicy", `${who}: ${result.problems.map((p) => `${p.field}: ${p.message}`).join("; ")}. ApiKeys under it keep their keys and do not rotate until it is fixed`];
    const fields = policy.metadata.generation === undefined ? {} : { observedGeneration: policy.metadata.generation };
    await report(ctx, resource, store, policy, fields, ["Valid"], reason, message);
    return Outcome.done();
  };
}

function describeSchedule(schedule: { kind: "every"; everyMs: number } | { kind: "cron"; expression: string; timeZone: string }): string {
  if (schedule.kind === "cron") return `keys rotate at "${schedule.expression}" in ${schedule.timeZone}`;
  return `keys rotate every ${Math.round(schedule.everyMs / 1000)}s`;
}
