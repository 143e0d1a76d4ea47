// Typed errors of the token service with stable codes. Codes appear in response
// bodies, audit logs and docs/token-service.md: never rename one.

/** Failures of the issuer API (POST /api/v0/admin/api-keys/{apiKey}/tokens) and their HTTP status. */
export const IssuerErrorCodes = {
  /** X-Keyward-Tenant is missing or not a namespace name. */
  ERR_TENANT_HEADER: 400,
  /** The body is not a JSON object of the accepted fields. */
  ERR_REQUEST_BODY: 400,
  /** `expires-at` is not RFC 3339, not in the future, or past the policy's maxTokenLifetime. */
  ERR_EXPIRES_AT: 400,
  /** The tenant has no bundle the token service can read: nobody of that tenant can authenticate. */
  ERR_TENANT_UNKNOWN: 401,
  /** The target ApiKey does not exist in the tenant. */
  ERR_API_KEY_NOT_FOUND: 404,
  /** The target ApiKey is not Ready, is suspended, is being deleted, or its signing key cannot be read. */
  ERR_API_KEY_NOT_READY: 409,
  /** The target ApiKey's rotation policy cannot be resolved. */
  ERR_POLICY_UNAVAILABLE: 409,
  /** Too many failed attempts from this address or for this client. */
  ERR_RATE_LIMITED: 429,
  /** The IssuedToken record could not be written: no token was handed out. */
  ERR_RECORD_FAILED: 503,
  /** The token service's caches have not synced yet. */
  ERR_NOT_READY: 503,
  /** The request body is larger than the limit. */
  ERR_BODY_TOO_LARGE: 413,
  /** Not a route of the token service. */
  ERR_NOT_FOUND: 404,
  /** A route of the token service, with another method. */
  ERR_METHOD_NOT_ALLOWED: 405,
  /** The body must be JSON (issuer API) or form-encoded (OAuth 2.0). */
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
} as const;

export type IssuerErrorCode = keyof typeof IssuerErrorCodes;

export class IssuerError extends Error {
  readonly code: IssuerErrorCode;
  readonly status: number;
  /** The request field at fault, if one is. */
  readonly field: string | undefined;
  constructor(code: IssuerErrorCode, message: string, field?: string) {
    super(message);
    this.name = "IssuerError";
    this.code = code;
    this.status = IssuerErrorCodes[code];
    this.field = field;
  }
}

/** RFC 6749 §5.2 error codes of the token endpoint. */
export const OAuthErrorCodes = [
  "invalid_request",
  "invalid_client",
  "invalid_grant",
  "unauthorized_client",
  "unsupported_grant_type",
  "invalid_scope",
] as const;

export type OAuthErrorCode = (typeof OAuthErrorCodes)[number];

/** An RFC 6749 §5.2 error response. `status` is 400, or 401 for invalid_client. */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: 400 | 401;
  constructor(error: OAuthErrorCode, description: string) {
    super(description);
    this.name = "OAuthError";
    this.error = error;
    this.status = error === "invalid_client" ? 401 : 400;
  }
}
