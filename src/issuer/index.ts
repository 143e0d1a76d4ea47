// The keyward token service: issuer API, OAuth 2.0 client credentials, discovery.

export { startTokenService, DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_TLS_POLL_MS } from "./server.ts";
export type { RunningTokenService, TokenServiceOptions } from "./server.ts";
export { createIssuerInformers, informerCache } from "./cache.ts";
export type { IssuerCache, IssuerInformers, ObjectLookup } from "./cache.ts";
export { kubeIssuedTokenStore, issueForApiKey, lifetimeSeconds, usableApiKey } from "./issue.ts";
export type { AuditEvents, IssueContext, IssueRequest, IssueResult, IssuedTokenStore } from "./issue.ts";
export {
  ISSUED_TOKENS,
  issuedTokenName,
  issuedTokenObject,
  planIssuedTokenCleanup,
  revocationOf,
  revocationsFromIssuedTokens,
} from "./issued-token.ts";
export type { IssuedTokenCleanup, IssuedTokenInput } from "./issued-token.ts";
export {
  CLIENT_CREDENTIALS_ANNOTATION,
  CLIENT_CREDENTIALS_ENABLED,
  CLIENT_CREDENTIALS_SECRET_TYPE,
  CLIENT_ID_KEY,
  CLIENT_SECRET_HASH_KEY,
  CLIENT_SECRET_HASH_SECRET_TYPE,
  CLIENT_SECRET_KEY,
  clientCredentialsEnabled,
  clientCredentialsSecret,
  clientCredentialsSecretName,
  clientIdOf,
  clientSecretHashSecret,
  clientSecretHashSecretName,
  clientSecretMatches,
  hashClientSecret,
  newClientSecret,
  parseClientId,
  planClientCredentials,
  readClientSecretHash,
} from "./client-credentials.ts";
export type { ClientCredentialsAction, ClientCredentialsPlan, PlanClientCredentialsInput } from "./client-credentials.ts";
export { auditRevocation, clientCredentialsOwnerKeys, clientCredentialsReconciler, deleteExpiredIssuedTokens, reconcileClientCredentials } from "./reconcile.ts";
export type { ClientCredentialsReconcilerDeps } from "./reconcile.ts";
export { FailureLimiter } from "./rate-limit.ts";
export type { RateLimitOptions } from "./rate-limit.ts";
export { IssuerError, IssuerErrorCodes, OAuthError, OAuthErrorCodes } from "./errors.ts";
export type { IssuerErrorCode, OAuthErrorCode } from "./errors.ts";
export { DISCOVERY_MAX_AGE_SECONDS, discoveryDocument } from "./discovery.ts";
export { TENANT_HEADER } from "./api.ts";
export { createTokenServiceLogger, TOKEN_SERVICE_REDACTED_PATHS } from "./logging.ts";
