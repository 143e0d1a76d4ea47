// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token

const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * The token of an `Authorization: Bearer <token>` header value (scheme matched
 * case-insensitively), or undefined if the value is absent, uses another scheme,
 * or is not exactly one token.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (typeof authorization !== "string") return undefined;
  return BEARER.exec(authorization.trim())?.[1];
}
