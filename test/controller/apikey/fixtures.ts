// Shared fixtures of the ApiKey tests: real signing keys handed out in a fixed
// order, a policy, and a small simulated controller that keeps a Secret and a
// status between reconciles the way the API server would.

import type { GateOf } from "../../../src/controller/apikey/gate.ts";
import type { ApiKeyStatus } from "../../../src/api/types.generated.ts";
import { planKeys, type ApiKeyRequests, type KeyFactory, type KeyPlan } from "../../../src/controller/apikey/plan.ts";
import { parseSigningKeys, serializeSigningKeys, type SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import { compileRotationPolicy } from "../../../src/model/policy/compile.ts";
import type { ResolvedRotationPolicy, RotationPolicySpecInput } from "../../../src/model/policy/types.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import type { Algorithm, PrivateJwk } from "../../../src/token/types.ts";

export const H = 3_600_000;
export const M = 60_000;
export const T0 = new Date("2026-01-01T00:00:00Z");

export const at = (ms: number): Date => new Date(T0.getTime() + ms);

export function policyOf(spec: Partial<RotationPolicySpecInput> = {}): ResolvedRotationPolicy {
  const result = compileRotationPolicy(
    { kind: "ClusterRotationPolicy", name: "default" },
    { schedule: { every: "720h" }, prePublish: "5m", grace: "720h", ...spec },
  );
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join("; "));
  return result.policy;
}

/**
 * A policy whose prePublish is at least its cron interval. compileRotationPolicy
 * refuses one, but a key prepared under a policy with a longer window can still be
 * waiting when the schedule changes to a shorter one, so the planner must cope.
 */
export function longPrePublish(spec: Partial<RotationPolicySpecInput>, prePublishMs: number): ResolvedRotationPolicy {
  return { ...policyOf(spec), prePublishMs };
}

/** Real keys, generated once and handed out in order, so two runs that mint alike get the same kids. */
export class KeyPool {
  readonly #keys: PrivateJwk[];
  #next = 0;
  /** The kids handed out, in order. */
  readonly kids: string[] = [];
  constructor(keys: PrivateJwk[]) {
    this.#keys = keys;
  }
  static async create(n: number, alg: Algorithm = "EdDSA"): Promise<KeyPool> {
    return new KeyPool(await Promise.all(Array.from({ length: n }, () => generateSigningKey(alg))));
  }
  /** A fresh pool over the same keys, starting from the first. */
  restart(): KeyPool {
    return new KeyPool(this.#keys);
  }
  get minted(): number {
    return this.#next;
  }
  readonly mint: KeyFactory = (alg) => {
    const key = this.#keys[this.#next++];
    if (key === undefined) return Promise.reject(new Error("key pool exhausted"));
    if (key.alg !== alg) return Promise.reject(new Error(`the pool holds ${key.alg} keys, not ${alg}`));
    this.kids.push(key.kid);
    return Promise.resolve(key);
  };
}

export const APIKEY = { namespace: "acme", name: "reporting" };

/** The state the API server keeps between reconciles: the Secret's document and the ApiKey's status. */
export class SimulatedApiKey {
  document: SigningKeyDocument | null = null;
  status: ApiKeyStatus = {};
  spec: ApiKeyRequests = {};
  readonly policy: ResolvedRotationPolicy;
  readonly pool: KeyPool;
  readonly plans: KeyPlan[] = [];
  /** The activation gate (what the tenant's verifiers enforce); undefined: prePublish alone. */
  gate: GateOf | undefined;

  constructor(policy: ResolvedRotationPolicy, pool: KeyPool) {
    this.policy = policy;
    this.pool = pool;
  }

  /** One reconcile: plan, write the Secret, then (unless the controller stops first) the status. */
  async reconcile(now: Date, opts: { crashBeforeStatus?: boolean } = {}): Promise<KeyPlan> {
    const plan = await planKeys({
      now,
      apiKey: APIKEY,
      current: this.document,
      policy: this.policy,
      spec: this.spec,
      status: this.status,
      mintKey: this.pool.mint,
      ...(this.gate === undefined ? {} : { gate: this.gate }),
    });
    // The Secret goes through its stored form, as it would through the API server.
    if (plan.secretChanged) this.document = parseSigningKeys(serializeSigningKeys(plan.document));
    if (opts.crashBeforeStatus !== true) this.status = plan.status;
    this.plans.push(plan);
    return plan;
  }
}
