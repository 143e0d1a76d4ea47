export { planKeys } from "./plan.ts";
export type { ApiKeyRequests, ApiKeyStatusInput, DropCause, KeyAction, KeyFactory, KeyPlan, PlanKeysInput, SpecProblem } from "./plan.ts";
export { planApiKey } from "./reconcile.ts";
export type { ApiKeyOutcome, PlanApiKeyInput } from "./reconcile.ts";
export { keysStatus } from "./status.ts";
export type { ApiKeyKeysStatus } from "./status.ts";
