export { apiKeyForToken, planToken } from "./plan.ts";
export type { ApiKeyForToken, FailReason, IssueCause, PlanTokenInput, TokenPlan } from "./plan.ts";
export { planAccessToken } from "./reconcile.ts";
export type { AccessTokenOutcome, PlanAccessTokenInput } from "./reconcile.ts";
export { isRevoking, liveIssued, MAX_ISSUED, revocationsOf, revocationsPublished } from "./revocations.ts";
export { checkTokenSpec, MIN_TOKEN_LIFETIME_MS } from "./spec.ts";
export type { TokenSpecCheck, TokenTerms } from "./spec.ts";
