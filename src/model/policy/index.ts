export type {
  CronSchedule,
  EverySchedule,
  PolicyProblem,
  PolicySource,
  ResolvedRotationPolicy,
  RotationPolicyKind,
  RotationPolicySpecInput,
  Schedule,
} from "./types.ts";
export { compileRotationPolicy, isTimeZone, MIN_EVERY_MS, MIN_TOKEN_LIFETIME_MS, POLICY_DEFAULTS } from "./compile.ts";
export type { CompileResult } from "./compile.ts";
export { nextRotation, nextScheduled } from "./schedule.ts";
export { DEFAULT_CLUSTER_ROTATION_POLICY, describeSource, resolveRotationPolicy } from "./resolve.ts";
export type { PolicyResolution, ResolvePolicyInput, RotationPolicyRef } from "./resolve.ts";
export { addMs, earliest, floorToSecond, formatTime, parseTime } from "./time.ts";
