// The status hand-over: how the bundle reconciler's part of an ApiKey's status
// reaches the ApiKey controller, the one writer of that status. One mechanism,
// in this file only:
//
//   1. the bundle reconciler works out each ApiKey's part (bundleGeneration and the
//      conditions AccessPoliciesResolved and Published) after every bundle plan and
//      hands the tenant's parts to BundleReports.replaceTenant;
//   2. BundleReports wakes (onChange) the ApiKeys whose status does not say what
//      their part says;
//   3. the ApiKey controller writes its own part and the bundle's in one merge patch
//      (withBundlePart), using a part only while the cache shows the very bundle
//      ConfigMap it describes;
//   4. a new ApiKey's first status waits (FirstStatusWait, BUNDLE_WAIT_MS at most)
//      for the part of the bundle that publishes its first key, so that it is
//      written once, not once before and once after.
//
// That keeps the write budget: 3 writes per new ApiKey (finalizer, Secret, one
// status), none at rest. Parts live in memory only: after a restart the bundle
// reconciler works every part out again from the bundle and the status, and until
// then the status keeps what it says.

import type { ApiKey } from "../../api/types.generated.ts";
import { makeKey } from "../../kube/types.ts";
import type { PlannedEvent } from "../../model/reasons.ts";
import { conditionsEqual, jsonEqual, setConditions, type ConditionInput } from "../../model/conditions.ts";

export interface BundlePart {
  /** The ApiKey the part was worked out for (a new ApiKey of the same name gets its own). */
  uid: string;
  /**
   * The resourceVersion of the bundle ConfigMap the part describes (undefined: there was none).
   * A part is used only while the cache shows that very ConfigMap: never one worked out
   * before the bundle changed again (or before leadership was lost and regained).
   */
  bundleVersion: string | undefined;
  /** The bundle generation that carries the ApiKey's current state; undefined when none does. */
  bundleGeneration: number | undefined;
  /** AccessPoliciesResolved and Published. */
  conditions: ConditionInput[];
  /** Warnings to record on the ApiKey when a condition turns False. */
  events: PlannedEvent[];
}

export class BundleReports {
  readonly #byTenant = new Map<string, Map<string, BundlePart>>();
  readonly #listeners: ((key: string) => void)[] = [];

  /**
   * The part for ApiKey `name` of `tenant` with `uid`, worked out against the bundle
   * ConfigMap of `bundleVersion` (its resourceVersion, undefined when there is none);
   * undefined when no such part is known.
   */
  get(tenant: string, name: string, uid: string, bundleVersion: string | undefined): BundlePart | undefined {
    const part = this.#byTenant.get(tenant)?.get(name);
    return part?.uid === uid && part.bundleVersion === bundleVersion ? part : undefined;
  }

  /** The last part worked out for the ApiKey, whatever bundle it describes. */
  last(tenant: string, name: string, uid: string): BundlePart | undefined {
    const part = this.#byTenant.get(tenant)?.get(name);
    return part?.uid === uid ? part : undefined;
  }

  /**
   * Replaces every part of `tenant` (ApiKeys left out have none any more) and
   * tells the listeners about the ApiKeys named in `changed` (whose status does
   * not say what their part says).
   */
  replaceTenant(tenant: string, parts: Map<string, BundlePart>, changed: readonly string[]): void {
    if (parts.size === 0) this.#byTenant.delete(tenant);
    else this.#byTenant.set(tenant, parts);
    for (const name of changed) for (const listener of this.#listeners) listener(makeKey(tenant, name));
  }

  /** Forgets the parts of a tenant whose bundle is gone. */
  dropTenant(tenant: string): void {
    this.#byTenant.delete(tenant);
  }

  /** Calls `listener` with the key of each ApiKey whose part no longer matches its status. */
  onChange(listener: (key: string) => void): void {
    this.#listeners.push(listener);
  }
}

/** The ApiKey status with `part` written into it, at `now` (a condition's lastTransitionTime moves only when its status does). */
export function withBundlePart<S extends NonNullable<ApiKey["status"]>>(status: S, part: BundlePart, now: Date): S {
  const out: S = { ...status, conditions: setConditions(status.conditions, part.conditions, now) };
  if (part.bundleGeneration === undefined) delete out.bundleGeneration;
  else out.bundleGeneration = part.bundleGeneration;
  return out;
}

/** Whether the ApiKey's status already says what `part` says. */
export function statusHoldsPart(apiKey: ApiKey, part: BundlePart, now: Date): boolean {
  const status = apiKey.status ?? {};
  const next = withBundlePart(status, part, now);
  return jsonEqual(status.bundleGeneration, next.bundleGeneration) && conditionsEqual(status.conditions, next.conditions);
}

/** How long a new ApiKey's first status waits for the bundle that publishes its first key, at most. */
export const BUNDLE_WAIT_MS = 10_000;

/** Since when each new ApiKey (by uid) has waited for the bundle's part of its first status. */
export class FirstStatusWait {
  readonly #since = new Map<string, number>();

  /** Milliseconds left to wait for ApiKey `uid` (starting its wait now if it had none). */
  left(uid: string, now: number): number {
    let since = this.#since.get(uid);
    if (since === undefined) {
      // Forget the waits of ApiKeys deleted while they waited.
      for (const [other, t] of this.#since) if (t + 2 * BUNDLE_WAIT_MS < now) this.#since.delete(other);
      since = now;
      this.#since.set(uid, since);
    }
    return since + BUNDLE_WAIT_MS - now;
  }

  end(uid: string): void {
    this.#since.delete(uid);
  }
}
