// One ApiKey, start to finish, without I/O: resolve its rotation policy, read its
// signing-key Secret, plan its keys, and say what to write. The caller writes the
// Secret (when one is returned) before the status, records the events, and
// requeues the ApiKey at requeueAt, or with back-off when `retry` says why.

import type { ApiKey, ApiKeyStatus } from "../../api/types.generated.ts";
import type { PolicySource, RotationPolicySpecInput } from "../../model/policy/types.ts";
import { describeSource, resolveRotationPolicy, type PolicyResolution } from "../../model/policy/resolve.ts";
import { floorToSecond } from "../../model/policy/time.ts";
import { eventOf, type PlannedCondition, type PlannedEvent } from "../../model/reasons.ts";
import { setCondition, type Condition } from "../../model/conditions.ts";
import { planKeys, type KeyFactory, type KeyPlan } from "./plan.ts";
import type { GateOf } from "./gate.ts";
import { readSigningKeySecret, signingKeySecret, type SecretObject } from "../../model/signing-key/secret.ts";
import { signingKeySecretName } from "../../model/signing-key/location.ts";

export interface PlanApiKeyInput {
  now: Date;
  apiKey: ApiKey;
  /** keyward's own namespace, where the ApiKey's signing-key Secret lives. */
  systemNamespace: string;
  /** The Secret holding the ApiKey's keys (currentKeySecret: in the system namespace, or its legacy one), or null. */
  secret: SecretObject | null;
  getRotationPolicy: (namespace: string, name: string) => RotationPolicySpecInput | undefined;
  getClusterRotationPolicy: (name: string) => RotationPolicySpecInput | undefined;
  mintKey: KeyFactory;
  /** The activation gate of a prepared key (gate.ts); absent: prePublish alone decides. */
  gate?: GateOf;
}

export interface ApiKeyOutcome {
  /** The Secret to create or replace first; null when it must be left as it is. */
  secret: SecretObject | null;
  /** The status to write after the Secret: the fields this reconciler owns, and all conditions. */
  status: ApiKeyStatus;
  events: PlannedEvent[];
  /** When to reconcile again for scheduled work; null when only a change can matter. */
  requeueAt: Date | null;
  /** Set when the ApiKey did not converge and retrying is the fix (key generation failed): back off and retry; says why. */
  retry: string | null;
  /** Null for an ApiKey being deleted. */
  policy: PolicyResolution | null;
  plan: KeyPlan | null;
}

export async function planApiKey(input: PlanApiKeyInput): Promise<ApiKeyOutcome> {
  const { apiKey } = input;
  const now = floorToSecond(input.now);
  const namespace = apiKey.metadata.namespace ?? "";
  const name = apiKey.metadata.name ?? "";
  const ref = { namespace, name, uid: apiKey.metadata.uid ?? "" };
  const spec = apiKey.spec ?? {};
  const previous = apiKey.status ?? {};
  const generation = apiKey.metadata.generation;
  let conditions: Condition[] = previous.conditions ?? [];
  const set = (c: PlannedCondition): void => {
    conditions = setCondition(conditions, generation === undefined ? c : { ...c, observedGeneration: generation }, now);
  };
  const events: PlannedEvent[] = [];
  if (apiKey.metadata.deletionTimestamp !== undefined) {
    // Being deleted: the bundle drops it, then its finalizer deletes its Secret. Nothing to write here.
    return { secret: null, status: previous, events, requeueAt: null, retry: null, policy: null, plan: null };
  }
  const base: ApiKeyStatus = { ...previous, secretName: signingKeySecretName(namespace, name) };
  if (generation !== undefined) base.observedGeneration = generation;

  const policy = resolveRotationPolicy({
    apiKey: { namespace, name, rotationPolicyRef: spec.rotationPolicyRef },
    getRotationPolicy: input.getRotationPolicy,
    getClusterRotationPolicy: input.getClusterRotationPolicy,
  });
  if (!policy.ok) {
    set({ type: "RotationPolicyResolved", status: "False", reason: policy.reason, message: policy.message });
    set({ type: "Ready", status: "False", reason: policy.reason, message: policy.message });
    events.push(eventOf(policy.reason, policy.message));
    return { secret: null, status: { ...base, conditions }, events, requeueAt: null, retry: null, policy, plan: null };
  }
  set(policyResolved(policy.policy.source));

  const read = readSigningKeySecret(input.secret, ref);
  if (read.kind === "conflict" || read.kind === "invalid") {
    const reason = read.kind === "conflict" ? "SigningKeySecretConflict" : "SigningKeySecretInvalid";
    set({ type: "Ready", status: "False", reason, message: read.message });
    events.push(eventOf(reason, read.message));
    return { secret: null, status: { ...base, conditions }, events, requeueAt: null, retry: null, policy, plan: null };
  }

  let plan: KeyPlan;
  try {
    plan = await planKeys({
      now,
      apiKey: { namespace, name },
      current: read.kind === "ok" ? read.document : null,
      policy: policy.policy,
      spec,
      status: previous,
      mintKey: input.mintKey,
      ...(input.gate === undefined ? {} : { gate: input.gate }),
    });
  } catch (err) {
    const message = `ApiKey ${namespace}/${name}: generating a ${policy.policy.algorithm} signing key failed (${err instanceof Error ? err.message : String(err)}); retrying`;
    set({ type: "Ready", status: "False", reason: "KeyGenerationFailed", message });
    events.push(eventOf("KeyGenerationFailed", message));
    return { secret: null, status: { ...base, conditions }, events, requeueAt: null, retry: message, policy, plan: null };
  }
  events.push(...plan.events);

  set(rotating(plan));
  const ready = readyAfter(plan, spec.suspended === true, `${namespace}/${name}`);
  set(ready);
  // An unusable request is told once, not on every resync.
  const told = previous.conditions?.some((c) => c.type === "Ready" && c.reason === ready.reason && c.message === ready.message) === true;
  if (ready.reason === "InvalidRequest" && !told) events.push(eventOf("InvalidRequest", ready.message));

  return {
    secret: plan.secretChanged ? signingKeySecret(input.systemNamespace, ref, plan.document) : null,
    status: { ...base, ...plan.status, ...(plan.activation === null ? {} : { lastActivation: plan.activation }), conditions },
    events,
    requeueAt: plan.nextWakeAt,
    retry: null,
    policy,
    plan,
  };
}

/** RotationPolicyResolved when the policy resolved: the built-in defaults, or the policy named. */
function policyResolved(source: PolicySource): PlannedCondition {
  return source.kind === "BuiltIn"
    ? {
        type: "RotationPolicyResolved",
        status: "True",
        reason: "BuiltInPolicy",
        message: "no ClusterRotationPolicy named default exists: the built-in defaults apply (EdDSA, every 720h, prePublish 5m, grace 720h)",
      }
    : { type: "RotationPolicyResolved", status: "True", reason: "RotationPolicyFound", message: `${describeSource(source)} is in use` };
}

/** Rotating: True while a prepared key waits for its activation. */
function rotating(plan: KeyPlan): PlannedCondition {
  const prepared = plan.keys.find((k) => k.state === "prepared");
  if (prepared === undefined) return { type: "Rotating", status: "False", reason: "RotationComplete", message: "no key is waiting to become active" };
  const gated = plan.preparedGate !== null && plan.preparedGate.kind !== "prePublish";
  return {
    type: "Rotating",
    status: "True",
    reason: "KeyPrepublished",
    message: gated
      ? `key ${prepared.jwk.kid} is published and becomes active once every live verifier of the tenant enforces a bundle that holds it, at ${prepared.activatesAt} at the latest`
      : `key ${prepared.jwk.kid} is published and becomes active at ${prepared.activatesAt}`,
  };
}

/** Ready once the keys are planned: False for a request that cannot be applied or a suspended ApiKey, else True. */
function readyAfter(plan: KeyPlan, suspended: boolean, apiKey: string): PlannedCondition {
  if (plan.problems.length > 0) return { type: "Ready", status: "False", reason: "InvalidRequest", message: plan.problems.map((p) => p.message).join("; ") };
  if (suspended) {
    return {
      type: "Ready",
      status: "False",
      reason: "Suspended",
      message: `spec.suspended is true: verifiers refuse the tokens of ApiKey ${apiKey} and none are issued; set it to false to resume`,
    };
  }
  return { type: "Ready", status: "True", reason: "KeysReady", message: `key ${plan.status.activeKid ?? ""} signs tokens; the next rotation is due at ${plan.status.nextRotationTime}` };
}
