// Which rotation policy governs an ApiKey: the RotationPolicy (same namespace) or
// ClusterRotationPolicy its spec.rotationPolicyRef names (default: the
// ClusterRotationPolicy named "default"). When that default does not exist, the
// built-in defaults apply, so a cluster without any policy still works.

import { compileRotationPolicy, POLICY_DEFAULTS } from "./compile.ts";
import type { PolicyProblem, PolicySource, ResolvedRotationPolicy, RotationPolicyKind, RotationPolicySpecInput } from "./types.ts";

export const DEFAULT_CLUSTER_ROTATION_POLICY = "default";

/** spec.rotationPolicyRef of an ApiKey; both fields default (ClusterRotationPolicy "default"). */
export interface RotationPolicyRef {
  kind?: RotationPolicyKind | undefined;
  name?: string | undefined;
}

export interface ResolvePolicyInput {
  apiKey: { namespace: string; name: string; rotationPolicyRef?: RotationPolicyRef | undefined };
  /** The spec of the RotationPolicy `name` in `namespace`, if it exists. */
  getRotationPolicy: (namespace: string, name: string) => RotationPolicySpecInput | undefined;
  /** The spec of the ClusterRotationPolicy `name`, if it exists. */
  getClusterRotationPolicy: (name: string) => RotationPolicySpecInput | undefined;
}

export type PolicyResolution =
  | { ok: true; policy: ResolvedRotationPolicy }
  | {
      ok: false;
      reason: "RotationPolicyNotFound" | "RotationPolicyInvalid";
      /** Names the ApiKey, the policy, the field and the fix. */
      message: string;
      source: PolicySource;
      problems: PolicyProblem[];
    };

/** One object each, so that the compiled built-in policy is remembered (compileRotationPolicy caches by spec). */
const BUILT_IN_SOURCE: PolicySource = { kind: "BuiltIn", name: "default" };
const BUILT_IN_SPEC: RotationPolicySpecInput = { schedule: { every: POLICY_DEFAULTS.builtInEvery } };

/** The policy that governs the ApiKey, or why there is none it can use. */
export function resolveRotationPolicy(input: ResolvePolicyInput): PolicyResolution {
  const { apiKey } = input;
  const kind = apiKey.rotationPolicyRef?.kind ?? "ClusterRotationPolicy";
  const name = apiKey.rotationPolicyRef?.name ?? DEFAULT_CLUSTER_ROTATION_POLICY;
  const who = `ApiKey ${apiKey.namespace}/${apiKey.name}`;

  if (kind === "RotationPolicy") {
    const source: PolicySource = { kind, name, namespace: apiKey.namespace };
    const spec = input.getRotationPolicy(apiKey.namespace, name);
    if (spec === undefined) {
      return {
        ok: false,
        reason: "RotationPolicyNotFound",
        source,
        problems: [],
        message:
          `${who}: spec.rotationPolicyRef names RotationPolicy "${name}", which does not exist in namespace ${apiKey.namespace}: ` +
          `create it, or point spec.rotationPolicyRef at an existing RotationPolicy of the namespace or at a ClusterRotationPolicy`,
      };
    }
    return compiled(who, source, spec);
  }

  const source: PolicySource = { kind, name };
  const spec = input.getClusterRotationPolicy(name);
  if (spec === undefined) {
    if (name === DEFAULT_CLUSTER_ROTATION_POLICY) {
      return compiled(who, BUILT_IN_SOURCE, BUILT_IN_SPEC);
    }
    return {
      ok: false,
      reason: "RotationPolicyNotFound",
      source,
      problems: [],
      message:
        `${who}: spec.rotationPolicyRef names ClusterRotationPolicy "${name}", which does not exist: ` +
        `create it, or point spec.rotationPolicyRef at an existing ClusterRotationPolicy or at a RotationPolicy of the namespace (kind: RotationPolicy)`,
    };
  }
  return compiled(who, source, spec);
}

function compiled(who: string, source: PolicySource, spec: RotationPolicySpecInput): PolicyResolution {
  const result = compileRotationPolicy(source, spec);
  if (result.ok) return result;
  const details = result.problems.map((p) => `${p.field}: ${p.message}`).join("; ");
  return {
    ok: false,
    reason: "RotationPolicyInvalid",
    source,
    problems: result.problems,
    message: `${who}: ${describeSource(source)} cannot be used: ${details}`,
  };
}

/** "RotationPolicy acme/fast", "ClusterRotationPolicy default", "the built-in default policy". */
export function describeSource(source: PolicySource): string {
  if (source.kind === "BuiltIn") return "the built-in default policy";
  if (source.kind === "RotationPolicy") return `RotationPolicy ${source.namespace ?? ""}/${source.name}`;
  return `ClusterRotationPolicy ${source.name}`;
}
