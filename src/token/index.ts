// keyward token format v1 and bundle format v1 (docs/token-format.md).

export * from "./types.ts";
export * from "./errors.ts";

export { generateSigningKey, RSA_MODULUS_BITS } from "./keys/generate.ts";
export { publicJwkOf } from "./keys/public.ts";
export { jwkThumbprint } from "./keys/thumbprint.ts";
export { jwkSetOf } from "./keys/jwk-set.ts";

export { newJti } from "./jwt/jti.ts";
export { issueAccessToken, issueAccessTokenSync, issueAccessTokenWith, signWithJwk } from "./jwt/issue.ts";
export type { IssueOptions, IssuedToken, TokenOptions, TokenSigner } from "./jwt/issue.ts";
export { DEFAULT_ISSUER_FORM, DEFAULT_SHARED_ISSUER_WINDOW_SECONDS, ISSUER_FORMS, MAX_SHARED_ISSUER_WINDOW_SECONDS, tenantIssuer, tokenIssuer } from "./jwt/issuer.ts";
export type { IssuerForm } from "./jwt/issuer.ts";
export { decodeUnverified } from "./jwt/decode.ts";
export { bearerToken } from "./jwt/bearer.ts";

export { buildBundle } from "./bundle/build.ts";
export { serializeBundle } from "./bundle/serialize.ts";
export { parseBundle } from "./bundle/parse.ts";
export { validateBundle } from "./bundle/validate.ts";
export { assertNotOlder } from "./bundle/generation.ts";
export { sameBundleContent } from "./bundle/same-content.ts";
export { pruneRevoked, revocationNeeded, REVOKED_RETENTION_SECONDS } from "./bundle/prune.ts";
export { parseSegment, segmentDigest, serializeSegment } from "./bundle/segment.ts";
export { assembleBundle, segmentRevocations, withSegmentRevocations } from "./bundle/assemble.ts";
export { validateSegment } from "./bundle/validate.ts";

export { normalizePath } from "./policy/normalize.ts";
export { pathPatternProblem } from "./policy/pattern.ts";
export { matchPolicies } from "./policy/match.ts";
export type { MatchedRule, PolicyDecision } from "./policy/match.ts";

export { TokenVerifier, DEFAULT_CACHE_SIZE, DEFAULT_LEEWAY_SECONDS, DEFAULT_MAX_TOKEN_BYTES, MAX_LEEWAY_SECONDS } from "./verify/verifier.ts";
export type { CompiledBundle, CompiledKey, CompiledApiKey } from "./verify/compile.ts";
export type {
  ExplainStep, Explanation, FailureContext, Identity, RequestInfo, TokenCheckResult, TokenIdentity, VerifierOptions, VerifierStats,
  VerifyFailure, VerifyResult,
} from "./verify/types.ts";
export { parseRfc3339, formatRfc3339 } from "./lib/rfc3339.ts";

export { BUNDLE_SIGNATURE_TYPE, bundleSignerOf, parseTrustSet, readSignatureHeader, signBundle, verifyBundleSignature } from "./bundle/signature.ts";
export type { BundleSignature, BundleSigner, TrustedKey, TrustSet } from "./bundle/signature.ts";
