// The names keyward gives things in the cluster, in one place: labels,
// annotations, Secret types and data keys, finalizers, the bundle ConfigMap and
// its keys. The controller writes them; the token service, the verifier and
// `kubectl keyward` read them.

/** Every object keyward creates carries this label with value MANAGED_BY; the caches select on it. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "keyward";
/** The ApiKey a Secret or IssuedToken belongs to. */
export const API_KEY_LABEL = "keyward.dev/api-key";
/** Annotations and labels under this prefix are keyward's own: a replace sets them exactly. */
export const KEYWARD_PREFIX = "keyward.dev/";

/** The ApiKey's signing-key Secret: type and its one data key. */
export const SIGNING_KEY_SECRET_TYPE = "keyward.dev/signing-key";
export const SIGNING_KEY_DATA_KEY = "keys.json";
/**
 * A signing-key Secret lives in keyward's system namespace and names its ApiKey
 * here: labels to select on (the tenant; the ApiKey's name, hashed when longer
 * than a label value may be), annotations to read (the exact name and uid).
 * The tenant label also names the tenant of a bundle record.
 */
export const TENANT_LABEL = "keyward.dev/tenant";
export const SigningKeyAnnotations = {
  tenant: "keyward.dev/tenant",
  apiKey: "keyward.dev/api-key",
  apiKeyUid: "keyward.dev/api-key-uid",
} as const;

/** The AccessToken's token Secret: type and the data key holding the JWT. */
export const ACCESS_TOKEN_SECRET_TYPE = "keyward.dev/access-token";
export const TOKEN_DATA_KEY = "token";

/** Annotations of the token Secret (never the token itself). */
export const TokenSecretAnnotations = {
  accessToken: "keyward.dev/access-token",
  jti: "keyward.dev/jti",
  kid: "keyward.dev/kid",
  /** RFC 3339, or "never" for a token without exp. */
  expiresAt: "keyward.dev/expires-at",
  /** base64url SHA-256 of the token. */
  tokenSha256: "keyward.dev/token-sha256",
  /** RFC 3339: when the token was removed because the AccessToken was revoked. */
  revokedAt: "keyward.dev/revoked-at",
  /**
   * The record a deletion revokes: JSON, the AccessToken's status.issued when the
   * Secret was written (jti, kid, expiresAt of every token a verifier may still accept).
   */
  issued: "keyward.dev/issued",
} as const;

/** Kept on an ApiKey that has signing keys until the tenant bundle no longer lists it. */
export const API_KEY_FINALIZER = "keyward.dev/bundle";
/**
 * Kept on a token Secret (written in the Secret's create) until the tenant bundle
 * lists the revocations of the tokens its record names, once its AccessToken is
 * gone. The same finalizer is kept on an AccessToken only while no Secret carries
 * its record (a token Secret deleted by hand, or written before the record existed).
 */
export const REVOCATION_FINALIZER = "keyward.dev/revocation";
export const ACCESS_TOKEN_FINALIZER = REVOCATION_FINALIZER;
export const TOKEN_SECRET_FINALIZER = REVOCATION_FINALIZER;

/** The tenant bundle: one ConfigMap per namespace, with the bundle and a plain JWK Set. */
export const BUNDLE_CONFIGMAP_NAME = "keyward-bundle";
export const BUNDLE_DATA_KEY = "bundle.json";
export const JWKS_DATA_KEY = "jwks.json";
/** The bundle's signature (bundle signature v1, docs/token-format.md): a detached JWS over bundle.json. */
export const BUNDLE_SIGNATURE_DATA_KEY = "bundle.jws";
/**
 * Revocation segments (bundle segment v1): a tenant's revocations past what
 * bundle.json carries, in ConfigMaps of fixed names `keyward-bundle-revoked-<slot>`,
 * slot 1 to BUNDLE_SEGMENT_SLOTS, each holding revoked.json. The names are fixed so
 * the verifier's Role can list them (resourceNames); the head names the slots in use
 * with their SHA-256, and a slot is rewritten only while no head names it.
 */
export const BUNDLE_SEGMENT_PREFIX = "keyward-bundle-revoked-";
export const BUNDLE_SEGMENT_SLOTS = 32;
export const BUNDLE_SEGMENT_DATA_KEY = "revoked.json";

/** The ConfigMap of segment slot `slot` (1 to BUNDLE_SEGMENT_SLOTS). */
export function bundleSegmentName(slot: number): string {
  return `${BUNDLE_SEGMENT_PREFIX}${slot}`;
}

/** Every segment slot's name, in slot order: what the verifier's Role lists. */
export function bundleSegmentNames(): string[] {
  return Array.from({ length: BUNDLE_SEGMENT_SLOTS }, (_, i) => bundleSegmentName(i + 1));
}

/**
 * Bundle signing, in keyward's own namespace (--system-namespace), which tenants can
 * neither read nor write: the Ed25519 bundle-signing keys (a Secret), their public
 * keys (a ConfigMap every verifier may read, jwks.json), and the controller's own
 * record of each tenant's bundle (one ConfigMap per tenant, `<prefix><tenant>`).
 */
export const BUNDLE_SIGNING_SECRET_NAME = "keyward-bundle-signing-keys";
export const BUNDLE_SIGNING_SECRET_TYPE = "keyward.dev/bundle-signing-key";
export const BUNDLE_SIGNING_DATA_KEY = "keys.json";
export const BUNDLE_TRUST_CONFIGMAP_NAME = "keyward-bundle-trust";
export const TRUST_DATA_KEY = "jwks.json";
export const BUNDLE_RECORD_PREFIX = "keyward-bundle-record.";
/** The bundle's generation, repeated on the ConfigMap for tooling. */
export const BUNDLE_GENERATION_ANNOTATION = "keyward.dev/bundle-generation";
/** The API server's limit on a ConfigMap (etcd's request limit). */
export const CONFIGMAP_LIMIT_BYTES = 1024 * 1024;

/** An ApiKey opts into OAuth 2.0 client credentials with this annotation set to CLIENT_CREDENTIALS_ENABLED. */
export const CLIENT_CREDENTIALS_ANNOTATION = "keyward.dev/client-credentials";
export const CLIENT_CREDENTIALS_ENABLED = "enabled";
export const CLIENT_CREDENTIALS_SECRET_TYPE = "keyward.dev/client-credentials";
export const CLIENT_SECRET_HASH_SECRET_TYPE = "keyward.dev/client-secret-hash";
export const CLIENT_ID_KEY = "client_id";
export const CLIENT_SECRET_KEY = "client_secret";
export const CLIENT_SECRET_HASH_KEY = "client_secret.sha256";

/** On each revocation segment ConfigMap (the tenant's slot and the record's copy): the slot's name. */
export const BUNDLE_SEGMENT_LABEL = "keyward.dev/bundle-segment";
