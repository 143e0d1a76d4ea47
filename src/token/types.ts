// The wire types of token format v1 and bundle format v1 (docs/token-format.md).
// These are the contract between the controller, which writes them, and the
// verifier, which reads them. Change them only with a new format version.

/** JWS algorithms keyward signs with. EdDSA means Ed25519. */
export type Algorithm = "EdDSA" | "ES256" | "RS256";

export const ALGORITHMS: readonly Algorithm[] = ["EdDSA", "ES256", "RS256"];

/** Lifecycle state of a signing key: prepared → active → deposed → gone. */
export type KeyState = "prepared" | "active" | "deposed";

export const KEY_STATES: readonly KeyState[] = ["prepared", "active", "deposed"];

/** A public JWK as keyward publishes it: no private members, `kid` is the RFC 7638 thumbprint. */
export interface PublicJwk {
  kty: "OKP" | "EC" | "RSA";
  crv?: "Ed25519" | "P-256";
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  kid: string;
  alg: Algorithm;
  use: "sig";
}

/** A private JWK. Lives only in an ApiKey's signing-key Secret. */
export interface PrivateJwk extends PublicJwk {
  d: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
}

/** An RFC 7517 JWK Set of public keys (the bundle's `jwks.json`). */
export interface JwkSet {
  keys: PublicJwk[];
}

export const TOKEN_TYPE = "at+jwt";

/** The protected header of a v1 access token. Nothing else is allowed in it. */
export interface TokenHeader {
  alg: Algorithm;
  typ: typeof TOKEN_TYPE;
  kid: string;
}

/** The claims of a v1 access token (RFC 9068). Times are seconds since the epoch. */
export interface TokenClaims {
  iss: string;
  /** The ApiKey name. */
  sub: string;
  /** The ApiKey name (RFC 9068 §2.2). */
  client_id: string;
  /** The tenant, i.e. the namespace. */
  aud: string;
  iat: number;
  nbf: number;
  /** Absent only for a non-expiring token. */
  exp?: number;
  /** 128-bit random, base64url. */
  jti: string;
}

export const BUNDLE_API_VERSION = "keyward.dev/bundle/v1";

/** A public key in the bundle, with the ApiKey it belongs to and its lifecycle state. */
export interface BundleKey extends PublicJwk {
  apiKey: string;
  state: KeyState;
  /** RFC 3339. Set on deposed keys: the end of the grace window. Null otherwise. */
  notAfter: string | null;
}

export interface BundleApiKey {
  uid: string;
  /** Names of the AccessPolicies attached to the ApiKey (keys of Bundle.policies). */
  policies: string[];
  suspended: boolean;
  /** RFC 3339. Tokens whose `iat` is before it are refused. */
  revokedBefore: string | null;
  allowNonExpiring: boolean;
}

export type RuleEffect = "Allow" | "Deny";

export interface PolicyRule {
  effect: RuleEffect;
  /** Upper-case HTTP methods, or "*" for any. */
  methods: string[];
  /** Path patterns: `*` matches one segment, `**` any number of segments. */
  paths: string[];
}

export interface BundlePolicy {
  rules: PolicyRule[];
}

export interface RevokedEntry {
  jti: string;
  apiKey: string;
  /** The revoked token's own `exp`; null for a non-expiring token (kept while its key exists). */
  exp: number | null;
}

/**
 * A revocation segment the bundle's head names: a ConfigMap holding part of the
 * revocation list (`revoked.json`, bundle segment v1), bound to the signed head
 * by the SHA-256 of its exact bytes.
 */
export interface RevokedSegmentRef {
  /** The segment's ConfigMap, in the tenant's namespace. */
  name: string;
  /** base64url(SHA-256(the segment's revoked.json bytes)), unpadded. */
  sha256: string;
  /** How many revocations it holds. */
  count: number;
}

export const BUNDLE_SEGMENT_API_VERSION = "keyward.dev/bundle-segment/v1";

/** A revocation segment (`revoked.json`): revocations of one tenant, outside bundle.json. */
export interface RevokedSegment {
  apiVersion: typeof BUNDLE_SEGMENT_API_VERSION;
  tenant: string;
  revoked: RevokedEntry[];
}

/** The tenant bundle, `bundle.json` of the `keyward-bundle` ConfigMap. */
export interface Bundle {
  apiVersion: typeof BUNDLE_API_VERSION;
  tenant: string;
  issuer: string;
  /** Grows on every content change; a verifier never goes back to a lower one. */
  generation: number;
  /** RFC 3339. */
  generatedAt: string;
  keys: BundleKey[];
  apiKeys: Record<string, BundleApiKey>;
  policies: Record<string, BundlePolicy>;
  revoked: RevokedEntry[];
  /**
   * The rest of the revocation list, in segments (bundle segment v1). Absent (and
   * never written) while `revoked` holds every revocation; a verifier enforces
   * `revoked` and every segment, and takes a bundle only with all of them.
   */
  revokedSegments?: RevokedSegmentRef[];
}
