// The rotation policy as the controller uses it: the spec of a RotationPolicy or
// ClusterRotationPolicy, validated, with defaults applied and durations in
// milliseconds.

import type { Algorithm } from "../../token/index.ts";

/** The spec of a RotationPolicy or ClusterRotationPolicy as read from the API (both kinds share it). */
export interface RotationPolicySpecInput {
  algorithm?: string | undefined;
  schedule?: {
    every?: string | undefined;
    cron?: string | undefined;
    timeZone?: string | undefined;
  } | undefined;
  prePublish?: string | undefined;
  grace?: string | undefined;
  defaultTokenLifetime?: string | undefined;
  maxTokenLifetime?: string | undefined;
  allowNeverExpires?: boolean | undefined;
}

export type RotationPolicyKind = "RotationPolicy" | "ClusterRotationPolicy";

/** Where a resolved policy came from: an object, or the built-in defaults. */
export type PolicySource =
  | { kind: RotationPolicyKind; name: string; namespace?: string | undefined }
  | { kind: "BuiltIn"; name: "default" };

/** Rotate each time `everyMs` has passed since the last rotation. */
export interface EverySchedule {
  kind: "every";
  everyMs: number;
}

/** Rotate at the times of a 5-field cron expression evaluated in an IANA time zone. */
export interface CronSchedule {
  kind: "cron";
  expression: string;
  timeZone: string;
}

export type Schedule = EverySchedule | CronSchedule;

export interface ResolvedRotationPolicy {
  source: PolicySource;
  algorithm: Algorithm;
  schedule: Schedule;
  /** How long a new key is published before it signs. */
  prePublishMs: number;
  /** How long a deposed key still verifies after its successor became active. */
  graceMs: number;
  defaultTokenLifetimeMs: number;
  maxTokenLifetimeMs: number;
  allowNeverExpires: boolean;
}

/** One reason a policy spec is not usable: the field (a path such as `spec.schedule.cron`) and what to do. */
export interface PolicyProblem {
  field: string;
  message: string;
}
