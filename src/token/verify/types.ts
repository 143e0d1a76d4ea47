import type { VerificationError } from "../errors.ts";
import type { MatchedRule } from "../policy/match.ts";

/** What the verifier needs of an HTTP request: its method and its raw path (a query is ignored). */
export interface RequestInfo {
  method: string;
  path: string;
}

/** Who a verified token speaks for. Times are seconds since the epoch. */
export interface TokenIdentity {
  apiKey: string;
  tenant: string;
  jti: string;
  kid: string;
  issuedAt: number;
  /** null for a non-expiring token. */
  expiresAt: number | null;
}

/** A verified token whose policies allow the request, and the rule that allowed it. */
export interface Identity extends TokenIdentity {
  rule: MatchedRule;
}

/** What is known about a refused token, for decision logs. Never the token itself. */
export interface FailureContext {
  kid?: string;
  apiKey?: string;
  /** Only once the signature has verified. */
  jti?: string;
  /** The Deny rule that refused the request, if one did. */
  rule?: MatchedRule;
}

export interface VerifyFailure {
  ok: false;
  error: VerificationError;
  context: FailureContext;
}

export type VerifyResult = { ok: true; identity: Identity } | VerifyFailure;

/** The result of the token checks alone (steps 1 to 5), when no request is given to explain. */
export type TokenCheckResult = { ok: true; identity: TokenIdentity } | VerifyFailure;

export interface ExplainStep {
  step: string;
  ok: boolean;
  detail: string;
}

export interface Explanation<R extends TokenCheckResult = VerifyResult> {
  result: R;
  /** Every check that ran, in order; the last one failed if the result is not ok. */
  steps: ExplainStep[];
}

export interface VerifierOptions {
  /** Clock leeway for exp, nbf and iat, in seconds: 0 to 300, default 30. */
  leewaySeconds?: number;
  /** Longest token accepted, in bytes: 512 to 65536, default 8192. */
  maxTokenBytes?: number;
  /** Entries of the verified-token cache: 0 (off) to 1000000, default 10000. */
  cacheSize?: number;
  /** How long after its `iat` a token with the shared (v1) `iss` is accepted, in seconds: 0 to 10 years, default 30 days. */
  sharedIssuerWindowSeconds?: number;
}

export interface VerifierStats {
  cacheEntries: number;
  cacheHits: number;
  cacheMisses: number;
}
