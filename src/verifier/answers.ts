// What the verifier answers when it does not let a request through: RFC 6750 bearer
// challenges for token and policy failures, 503 while it has no usable bundle.
// Descriptions are fixed per code: they tell the client what to fix without echoing
// anything from the request or the bundle.

import { bearerErrorFor, type VerificationCode, type VerificationError } from "../token/index.ts";

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const REALM = "keyward";

const DESCRIPTIONS: Partial<Record<VerificationCode, string>> = {
  ERR_TOKEN_MISSING: "an access token is required: send Authorization: Bearer <token>",
  ERR_TOKEN_MALFORMED: "the access token is not a well-formed JWT",
  ERR_TOKEN_TOO_LARGE: "the access token is too large",
  ERR_TOKEN_TYPE: "the token is not an access token (typ must be at+jwt)",
  ERR_HEADER_UNSUPPORTED: "the token header has parameters that are not accepted",
  ERR_KEY_UNKNOWN: "the token is signed with an unknown key",
  ERR_ALG_MISMATCH: "the token algorithm does not match its key",
  ERR_KEY_EXPIRED: "the token is signed with a key that is no longer valid; get a new token",
  ERR_SIGNATURE_INVALID: "the token signature is invalid",
  ERR_KEY_SUBJECT_MISMATCH: "the token is signed with a key of another API key",
  ERR_CLAIMS_INVALID: "the token claims are missing or malformed",
  ERR_ISSUER_MISMATCH: "the token was issued by another issuer",
  ERR_ISSUER_RETIRED: "the token carries the retired shared issuer; get a new token",
  ERR_AUDIENCE_MISMATCH: "the token is for another tenant",
  ERR_TOKEN_EXPIRED: "the token has expired; get a new token",
  ERR_TOKEN_NOT_YET_VALID: "the token is not valid yet",
  ERR_TOKEN_ISSUED_IN_FUTURE: "the token is issued in the future",
  ERR_TOKEN_NO_EXPIRY: "tokens without expiry are not allowed for this API key",
  ERR_API_KEY_UNKNOWN: "the API key of the token does not exist",
  ERR_API_KEY_SUSPENDED: "the API key of the token is suspended",
  ERR_TOKEN_ISSUED_BEFORE_REVOCATION: "the token was revoked; get a new token",
  ERR_TOKEN_REVOKED: "the token was revoked",
  ERR_PATH_INVALID: "the request path is not acceptable (encoded slash or backslash, bad escape, or above the root)",
  ERR_POLICY_DENIED: "the access policies of the API key do not allow this request",
};

function describe(code: string): string {
  return DESCRIPTIONS[code as VerificationCode] ?? "the access token is not valid";
}

function challenge(error: string | null, description: string): string {
  // error_description is quoted-string of %x20-21 / %x23-5B / %x5D-7E (RFC 6750 §3).
  const safe = description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "");
  return error === null ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="${error}", error_description="${safe}"`;
}

function json(status: number, headers: Record<string, string>, body: Record<string, string>): Answer {
  return {
    status,
    headers: { ...headers, "content-type": "application/json", "cache-control": "no-store" },
    body: `${JSON.stringify(body)}\n`,
  };
}

/** The answer to a request that failed a check. */
export function denyAnswer(error: Pick<VerificationError, "code" | "status">): Answer {
  const description = describe(error.code);
  if (error.code === "ERR_TOKEN_MISSING") {
    // RFC 6750 §3.1: no error attribute when the request carried no credentials.
    return json(401, { "www-authenticate": challenge(null, description) }, { error: "unauthorized", code: error.code, description });
  }
  const bearerError = bearerErrorFor(error.status);
  return json(error.status, { "www-authenticate": challenge(bearerError, description) }, { error: bearerError, code: error.code, description });
}

/** A request the verifier cannot even check (its target is not an absolute path). */
export function badRequestAnswer(description: string): Answer {
  return json(400, { "www-authenticate": challenge("invalid_request", description) }, { error: "invalid_request", code: "ERR_REQUEST_INVALID", description });
}

/**
 * 501: the request body has a transfer coding other than chunked alone (gzip, say). It cannot be
 * passed on as it came, and passing it on re-framed would hand the workload a body it cannot decode.
 */
export function transferCodingAnswer(): Answer {
  return json(501, {}, { error: "not_implemented", code: "ERR_TRANSFER_CODING", description: "send the request body with Transfer-Encoding: chunked alone, or with a Content-Length" });
}

export type UnavailableCode = "ERR_NO_BUNDLE" | "ERR_BUNDLE_STALE" | "ERR_DRAINING";

/** 503: no bundle has loaded yet, or the one in use is older than the maximum age. Fail closed. */
export function unavailableAnswer(code: UnavailableCode): Answer {
  const description =
    code === "ERR_NO_BUNDLE" ? "the verifier has not loaded its bundle yet"
    : code === "ERR_BUNDLE_STALE" ? "the verifier's bundle is out of date"
    : "the verifier is shutting down";
  return json(503, { "retry-after": "5" }, { error: "temporarily_unavailable", code, description });
}

/** The workload could not be reached (502) or did not answer in time (504). Nothing internal. */
export function upstreamAnswer(status: 502 | 504): Answer {
  return json(status, {}, { error: status === 502 ? "bad_gateway" : "gateway_timeout", code: status === 502 ? "ERR_UPSTREAM_UNAVAILABLE" : "ERR_UPSTREAM_TIMEOUT", description: status === 502 ? "the service is not available" : "the service did not answer in time" });
}
