// Typed errors with stable codes. Codes are documented API (docs/token-format.md):
// logs, metrics and `keyward token verify` print them; never rename one.

/** Every failure of the verifier's checks, in the order the checks run. */
export const VerificationCodes = {
  /** No `Authorization: Bearer` header. */
  ERR_TOKEN_MISSING: 401,
  /** Not a compact JWS of three base64url parts with JSON header and claims. */
  ERR_TOKEN_MALFORMED: 401,
  /** Longer than the size bound. */
  ERR_TOKEN_TOO_LARGE: 401,
  /** `typ` is not `at+jwt`. */
  ERR_TOKEN_TYPE: 401,
  /** A header parameter other than alg, typ, kid (jku, x5u, jwk, crit, …). */
  ERR_HEADER_UNSUPPORTED: 401,
  /** `kid` names no key in the bundle. */
  ERR_KEY_UNKNOWN: 401,
  /** `alg` differs from the key's `alg` (includes `none` and HMAC). */
  ERR_ALG_MISMATCH: 401,
  /** The key is deposed and past its `notAfter`. */
  ERR_KEY_EXPIRED: 401,
  /** The signature does not verify. */
  ERR_SIGNATURE_INVALID: 401,
  /** The key belongs to another ApiKey than `sub`, or `client_id` differs from `sub`. */
  ERR_KEY_SUBJECT_MISMATCH: 401,
  /** A claim is missing or has the wrong type. */
  ERR_CLAIMS_INVALID: 401,
  /** `iss` is neither the tenant's issuer nor the shared issuer. */
  ERR_ISSUER_MISMATCH: 401,
  /** `iss` is the shared (v1) issuer and the token is older than the shared-issuer window. */
  ERR_ISSUER_RETIRED: 401,
  ERR_AUDIENCE_MISMATCH: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_TOKEN_NOT_YET_VALID: 401,
  /** `iat` lies in the future beyond the leeway. */
  ERR_TOKEN_ISSUED_IN_FUTURE: 401,
  /** No `exp`, and the ApiKey does not allow non-expiring tokens. */
  ERR_TOKEN_NO_EXPIRY: 401,
  ERR_API_KEY_UNKNOWN: 401,
  ERR_API_KEY_SUSPENDED: 401,
  /** `iat` is before the ApiKey's `revokedBefore`. */
  ERR_TOKEN_ISSUED_BEFORE_REVOCATION: 401,
  /** `jti` is on the revocation list. */
  ERR_TOKEN_REVOKED: 401,
  /** The request path cannot be normalised safely (encoded `/` or `\`, bad escapes, above the root). */
  ERR_PATH_INVALID: 400,
  /** No rule allows the method and path, or a Deny rule matches. */
  ERR_POLICY_DENIED: 403,
} as const;

export type VerificationCode = keyof typeof VerificationCodes;
export type VerificationStatus = (typeof VerificationCodes)[VerificationCode];

/** RFC 6750 §3.1 error attribute for a status. */
export function bearerErrorFor(status: VerificationStatus): "invalid_request" | "invalid_token" | "insufficient_scope" {
  if (status === 400) return "invalid_request";
  if (status === 403) return "insufficient_scope";
  return "invalid_token";
}

export abstract class KeywardError extends Error {
  abstract readonly code: string;
}

/** A token failed one of the verifier's checks. Its message never contains the token. */
export class VerificationError extends KeywardError {
  readonly code: VerificationCode;
  readonly status: VerificationStatus;
  constructor(code: VerificationCode, message: string) {
    super(message);
    this.name = "VerificationError";
    this.code = code;
    this.status = VerificationCodes[code];
  }
}

export const BundleErrorCodes = [
  /** Not JSON, or not an object. */
  "ERR_BUNDLE_JSON",
  /** `apiVersion` is not one this build reads. */
  "ERR_BUNDLE_API_VERSION",
  /** A field is missing or has the wrong type or value; `field` names it. */
  "ERR_BUNDLE_FIELD",
  /** Two keys share a `kid`. */
  "ERR_BUNDLE_DUPLICATE_KID",
  /** A key, or a revocation, names an ApiKey that is not in `apiKeys`. */
  "ERR_BUNDLE_UNKNOWN_API_KEY",
  /** An ApiKey names a policy that is not in `policies`. */
  "ERR_BUNDLE_UNKNOWN_POLICY",
  /** The new bundle's generation is lower than the one in use. */
  "ERR_BUNDLE_GENERATION_REGRESSION",
  /** The new bundle has the generation in use but other content: two bundles claim the same generation. */
  "ERR_BUNDLE_EQUIVOCATION",
  /** No bundle signature (`bundle.jws`) next to the bundle, and plain bundles are not allowed. */
  "ERR_BUNDLE_UNSIGNED",
  /** The bundle signature is malformed, or does not verify over the exact bytes of bundle.json. */
  "ERR_BUNDLE_SIGNATURE",
  /** The bundle is signed with a key that is not (or no longer) in the trusted bundle-signing keys. */
  "ERR_BUNDLE_SIGNATURE_KEY",
  /** The bundle was signed longer ago than the verifier's maximum signature age (a replayed old bundle). */
  "ERR_BUNDLE_SIGNATURE_EXPIRED",
  /** No trusted bundle-signing keys are loaded yet, or the trust set is not valid. */
  "ERR_BUNDLE_TRUST",
  /** A revocation segment the bundle names cannot be read (not there, or without revoked.json). */
  "ERR_BUNDLE_SEGMENT_MISSING",
  /** A revocation segment's bytes are not the ones the bundle names (SHA-256 differs, or another count or tenant). */
  "ERR_BUNDLE_SEGMENT_DIGEST",
] as const;

export type BundleErrorCode = (typeof BundleErrorCodes)[number];

/** A bundle is not valid v1. `field` is a JSON path such as `keys[2].kid`. */
export class BundleError extends KeywardError {
  readonly code: BundleErrorCode;
  readonly field: string;
  constructor(code: BundleErrorCode, field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "BundleError";
    this.code = code;
    this.field = field;
  }
}

/** Input to key generation or token issuance is not acceptable. */
export class TokenInputError extends KeywardError {
  readonly code = "ERR_TOKEN_INPUT";
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "TokenInputError";
    this.field = field;
  }
}
