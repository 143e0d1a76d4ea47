// The AccessToken's Secret (type keyward.dev/access-token, data key `token`):
// its manifest, and whether the token in it is the one the AccessToken's status
// says was issued. The JWT is only ever in `data.token`; the annotations carry its
// jti, kid, expiry and SHA-256, never the token.
//
// The Secret also carries the record a deletion revokes: the annotation
// keyward.dev/issued (the AccessToken's status.issued when the Secret was
// written) and the finalizer keyward.dev/revocation, both in the create that
// writes the token. When the AccessToken is deleted, the garbage collector
// deletes the Secret, which waits on that finalizer until the tenant bundle lists
// the revocations of the tokens in its record (docs/controller.md).

import { createHash, timingSafeEqual } from "node:crypto";
import type { AccessToken, AccessTokenStatusIssued } from "../../api/types.generated.ts";
import { decodeUnverified } from "../../token/index.ts";
import { controllerRef, isControlledBy, type SecretObject } from "../signing-key/secret.ts";

import {
  ACCESS_TOKEN_SECRET_TYPE,
  API_KEY_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  TOKEN_DATA_KEY,
  TOKEN_SECRET_FINALIZER,
  TokenSecretAnnotations as Annotations,
} from "../names.ts";

/** The Secret name of an AccessToken: spec.secretName, default the AccessToken's name. */
export function tokenSecretName(accessToken: AccessToken): string {
  return accessToken.spec.secretName ?? accessToken.metadata.name ?? "";
}

export function tokenSha256(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("base64url");
}

export interface IssuedTokenFacts {
  token: string;
  jti: string;
  kid: string;
  /** RFC 3339, or null for a token without exp. */
  expiresAt: string | null;
}

/** The tokens a deletion revokes, as status.issued records them. */
export type IssuedRecord = readonly AccessTokenStatusIssued[];

function recordText(record: IssuedRecord): string {
  return JSON.stringify(record.map((e) => ({ jti: e.jti, kid: e.kid, ...(e.expiresAt === undefined ? {} : { expiresAt: e.expiresAt }) })));
}

function meta(accessToken: AccessToken, name: string, annotations: Record<string, string>, record: IssuedRecord): SecretObject["metadata"] {
  return {
    name,
    namespace: accessToken.metadata.namespace ?? "",
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [API_KEY_LABEL]: accessToken.spec.apiKeyName },
    annotations: { [Annotations.accessToken]: accessToken.metadata.name ?? "", ...annotations, [Annotations.issued]: recordText(record) },
    ownerReferences: [controllerRef("AccessToken", { name: accessToken.metadata.name ?? "", uid: accessToken.metadata.uid ?? "" })],
    finalizers: [TOKEN_SECRET_FINALIZER],
  };
}

/** The Secret holding a freshly issued token, with the record of every token a deletion must revoke (the new one included). */
export function tokenSecret(accessToken: AccessToken, issued: IssuedTokenFacts, record: IssuedRecord): SecretObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(
      accessToken,
      tokenSecretName(accessToken),
      {
        [Annotations.jti]: issued.jti,
        [Annotations.kid]: issued.kid,
        [Annotations.expiresAt]: issued.expiresAt ?? "never",
        [Annotations.tokenSha256]: tokenSha256(issued.token),
      },
      record,
    ),
    type: ACCESS_TOKEN_SECRET_TYPE,
    data: { [TOKEN_DATA_KEY]: Buffer.from(issued.token, "utf8").toString("base64") },
  };
}

/** The Secret of a revoked AccessToken: kept, with its token removed (and the record kept). */
export function revokedTokenSecret(accessToken: AccessToken, revokedAt: string, record: IssuedRecord): SecretObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: meta(accessToken, tokenSecretName(accessToken), { [Annotations.revokedAt]: revokedAt }, record),
    type: ACCESS_TOKEN_SECRET_TYPE,
    data: {},
  };
}

/**
 * `secret` as it is, with the record and the finalizer: how a Secret written
 * before the record existed (or whose record was edited) gets it, token untouched.
 */
export function withRecord(secret: SecretObject, record: IssuedRecord): SecretObject {
  const finalizers = secret.metadata.finalizers ?? [];
  return {
    ...secret,
    metadata: {
      ...secret.metadata,
      annotations: { ...(secret.metadata.annotations ?? {}), [Annotations.issued]: recordText(record) },
      finalizers: finalizers.includes(TOKEN_SECRET_FINALIZER) ? finalizers : [...finalizers, TOKEN_SECRET_FINALIZER],
    },
  };
}

/** The record a token Secret carries; null when it has none or it cannot be read. */
export function secretRecord(secret: SecretObject): AccessTokenStatusIssued[] | null {
  const text = secret.metadata.annotations?.[Annotations.issued];
  if (text === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  const out: AccessTokenStatusIssued[] = [];
  for (const e of parsed as unknown[]) {
    if (typeof e !== "object" || e === null) return null;
    const { jti, kid, expiresAt } = e as Record<string, unknown>;
    if (typeof jti !== "string" || typeof kid !== "string" || (expiresAt !== undefined && typeof expiresAt !== "string")) return null;
    out.push({ jti, kid, ...(expiresAt === undefined ? {} : { expiresAt }) });
  }
  return out;
}

/** Whether `secret` is a token Secret of keyward's (its type), holding the finalizer: one whose record a deletion revokes. */
export function isRecordingTokenSecret(secret: SecretObject): boolean {
  return secret.type === ACCESS_TOKEN_SECRET_TYPE && (secret.metadata.finalizers ?? []).includes(TOKEN_SECRET_FINALIZER);
}

/**
 * Whether `secret` keeps the record of `live` (the AccessToken `uid`'s tokens a
 * verifier may still accept) for a deletion: it is that AccessToken's token
 * Secret, not being deleted, holds the finalizer, and its record names every
 * one of them. When it does not, the AccessToken itself keeps the finalizer.
 */
export function carriesRecord(secret: SecretObject | null, uid: string, live: IssuedRecord): boolean {
  if (secret === null || !isRecordingTokenSecret(secret) || !isControlledBy(secret.metadata, uid)) return false;
  if (secret.metadata.deletionTimestamp !== undefined) return false;
  const record = secretRecord(secret);
  if (record === null) return false;
  const jtis = new Set(record.map((e) => e.jti));
  return live.every((e) => jtis.has(e.jti));
}

export type TokenSecretState =
  | { kind: "missing" }
  /** Not this AccessToken's Secret: never touched. */
  | { kind: "foreign"; message: string }
  /** This AccessToken's, but its token is not the one status records: re-issue. `what` says what differs. */
  | { kind: "altered"; what: string }
  | { kind: "empty" }
  | { kind: "intact" };

/**
 * What the controller's cache keeps of a token Secret's token: its SHA-256 and
 * the kid and jti it names (null when it is no compact JWS), never the token.
 * `cachedTokenSecret` puts it in place of `data` as the Secret enters the cache.
 */
export interface TokenDigest {
  sha256: string;
  kid: string | null;
  jti: string | null;
}

/** A Secret as the controller's cache holds it: a token Secret's token replaced by its digest. */
export type CachedSecret = SecretObject & { tokenDigest?: TokenDigest };

/** The digest of a token, or null for a Secret without one. */
function digestOf(secret: CachedSecret): TokenDigest | null {
  if (secret.tokenDigest !== undefined) return secret.tokenDigest;
  const encoded = secret.data?.[TOKEN_DATA_KEY];
  if (encoded === undefined || encoded === "") return null;
  const token = Buffer.from(encoded, "base64").toString("utf8");
  let header: unknown;
  let claims: unknown;
  try {
    ({ header, claims } = decodeUnverified(token));
  } catch {
    return { sha256: tokenSha256(token), kid: null, jti: null };
  }
  return { sha256: tokenSha256(token), kid: stringMember(header, "kid"), jti: stringMember(claims, "jti") };
}

/**
 * An informer transform for the controller's Secret cache: a token Secret's
 * bearer token is replaced by its digest, which is all inspectTokenSecret needs.
 * The cache then holds no token (a heap dump of the controller shows none) and
 * about a kilobyte less per AccessToken. Other Secrets pass unchanged.
 */
export function cachedTokenSecret<T extends object>(object: T): T {
  const secret = object as CachedSecret;
  if (secret.type !== ACCESS_TOKEN_SECRET_TYPE || secret.data === undefined) return object;
  const digest = digestOf(secret);
  const { data: _token, ...rest } = secret;
  return (digest === null ? rest : { ...rest, tokenDigest: sharingAnnotations(digest, secret.metadata.annotations ?? {}) }) as T;
}

/**
 * The digest, each of its values replaced by the annotation's copy when they are
 * equal (they are, for a Secret keyward wrote): the cache then holds one copy of
 * the token's SHA-256, kid and jti per Secret instead of two. The SHA-256 is
 * compared in constant time, as inspectTokenSecret compares it.
 */
function sharingAnnotations(digest: TokenDigest, annotations: Record<string, string>): TokenDigest {
  const recordedSha256 = annotations[Annotations.tokenSha256];
  const shared = (value: string | null, annotation: string | undefined): string | null => (value !== null && value === annotation ? annotation : value);
  return {
    sha256: recordedSha256 !== undefined && sameText(digest.sha256, recordedSha256) ? recordedSha256 : digest.sha256,
    kid: shared(digest.kid, annotations[Annotations.kid]),
    jti: shared(digest.jti, annotations[Annotations.jti]),
  };
}

/**
 * Compares the Secret with what the AccessToken's status says was issued: the
 * token's SHA-256 must equal the annotation (compared in constant time), and the
 * jti and kid of the annotations and of the token itself must equal status.jti
 * and status.kid. Takes a Secret as read (with its token) or as cached (with its
 * digest); the verdict is the same.
 */
export function inspectTokenSecret(secret: CachedSecret | null, accessToken: AccessToken): TokenSecretState {
  if (secret === null) return { kind: "missing" };
  const uid = accessToken.metadata.uid ?? "";
  if (secret.type !== ACCESS_TOKEN_SECRET_TYPE || !isControlledBy(secret.metadata, uid)) {
    const ns = accessToken.metadata.namespace ?? "";
    return {
      kind: "foreign",
      message:
        `Secret ${ns}/${secret.metadata.name ?? tokenSecretName(accessToken)} exists but is not the token Secret of AccessToken ${ns}/${accessToken.metadata.name ?? ""} ` +
        `(it must have type ${ACCESS_TOKEN_SECRET_TYPE} and be controlled by the AccessToken): keyward leaves it alone; ` +
        `delete it, or set spec.secretName to a name that is free`,
    };
  }
  const digest = digestOf(secret);
  if (digest === null) return { kind: "empty" };
  const annotations = secret.metadata.annotations ?? {};
  const status = accessToken.status ?? {};
  const recorded = annotations[Annotations.tokenSha256] ?? "";
  if (!sameText(digest.sha256, recorded)) return { kind: "altered", what: "the token does not match its recorded SHA-256" };
  if (status.jti === undefined || annotations[Annotations.jti] !== status.jti) return { kind: "altered", what: "the jti annotation differs from status.jti" };
  if (status.kid === undefined || annotations[Annotations.kid] !== status.kid) return { kind: "altered", what: "the kid annotation differs from status.kid" };
  if (digest.kid === null && digest.jti === null) return { kind: "altered", what: "the token is not a compact JWS" };
  if (digest.kid !== status.kid || digest.jti !== status.jti) return { kind: "altered", what: "the token's kid or jti differs from status" };
  return { kind: "intact" };
}

function stringMember(value: unknown, member: string): string | null {
  if (typeof value !== "object" || value === null) return null;
  const v = (value as Record<string, unknown>)[member];
  return typeof v === "string" ? v : null;
}

/** Constant-time equality of two strings. */
function sameText(a: string, b: string): boolean {
  const ba = Buffer.from(a, "utf8");
  const bb = Buffer.from(b, "utf8");
  if (ba.length !== bb.length) {
    timingSafeEqual(ba, ba);
    return false;
  }
  return timingSafeEqual(ba, bb);
}
