// The keyward token service: issuer API, OAuth 2.0 client credentials, discovery.
// Its records and formats are in src/model; what the controller runs for it
// (client credentials, IssuedToken clean-up) is in src/controller.

export { startTokenService, DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_TLS_POLL_MS } from "./server.ts";
export type { RunningTokenService, TokenServiceOptions } from "./server.ts";
export { createIssuerInformers, informerCache } from "./cache.ts";
export type { IssuerCache, IssuerInformers, ObjectLookup } from "./cache.ts";
export { kubeIssuedTokenStore, issueForApiKey, lifetimeSeconds, usableApiKey } from "./issue.ts";
export type { AuditEvents, IssueContext, IssueRequest, IssueResult, IssuedTokenStore } from "./issue.ts";
export { FailureLimiter } from "./rate-limit.ts";
export type { RateLimitOptions } from "./rate-limit.ts";
export { IssuerError, IssuerErrorCodes, OAuthError, OAuthErrorCodes } from "./errors.ts";
export type { IssuerErrorCode, OAuthErrorCode } from "./errors.ts";
export { DISCOVERY_MAX_AGE_SECONDS, discoveryDocument } from "./discovery.ts";
export { TENANT_HEADER } from "./api.ts";
export { createTokenServiceLogger, TOKEN_SERVICE_REDACTED_PATHS } from "./logging.ts";
