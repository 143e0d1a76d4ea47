export { apiKeyForToken, planToken } from "./plan.ts";
export type { ApiKeyForToken, FailReason, IssueCause, PlanTokenInput, TokenPlan } from "./plan.ts";
export { reconcileAccessToken } from "./reconcile.ts";
export type { AccessTokenOutcome, ReconcileAccessTokenInput } from "./reconcile.ts";
export { ACCESS_TOKEN_FINALIZER, isRevoking, liveIssued, MAX_ISSUED, revocationsOf, revocationsPublished } from "./revocations.ts";
export {
  ACCESS_TOKEN_SECRET_TYPE,
  Annotations,
  inspectTokenSecret,
  revokedTokenSecret,
  TOKEN_DATA_KEY,
  tokenSecret,
  tokenSecretName,
  tokenSha256,
} from "./secret.ts";
export type { IssuedTokenFacts, TokenSecretState } from "./secret.ts";
export { checkTokenSpec, MIN_TOKEN_LIFETIME_MS } from "./spec.ts";
export type { TokenSpecCheck, TokenTerms } from "./spec.ts";
