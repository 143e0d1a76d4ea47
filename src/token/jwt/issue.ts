import type { KeyObject } from "node:crypto";
import { TokenInputError } from "../errors.ts";
import { encodeBase64url } from "../lib/base64url.ts";
import { importSigningKey, signData } from "../lib/crypto.ts";
import { jwkThumbprint } from "../keys/thumbprint.ts";
import { ALGORITHMS, TOKEN_TYPE } from "../types.ts";
import type { Algorithm, PrivateJwk, TokenClaims, TokenHeader } from "../types.ts";
import { newJti } from "./jti.ts";

export interface IssueOptions {
  /** The ApiKey's active signing key. */
  key: PrivateJwk;
  /** The token's `iss`: tokenIssuer(configured issuer, tenant, form). */
  issuer: string;
  /** The ApiKey name (`sub` and `client_id`). */
  apiKey: string;
  /** The tenant, i.e. the namespace (`aud`). */
  tenant: string;
  /** The issue time (`iat` and `nbf`, whole seconds). */
  now: Date;
  /** Seconds until `exp`; null for a non-expiring token (no `exp`). */
  lifetimeSeconds: number | null;
  /** The token id; a new random one (newJti) if not given. */
  jti?: string;
}

export interface IssuedToken {
  token: string;
  claims: TokenClaims;
  header: TokenHeader;
}

const JTI = /^[A-Za-z0-9_-]{1,256}$/;

function nonEmpty(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw new TokenInputError(field, "must be a non-empty string");
  return value;
}

/**
 * Issues a v1 access token (RFC 9068) signed with `key`: header `{alg, typ:
 * "at+jwt", kid}`, claims `iss`, `sub`, `client_id`, `aud`, `iat`, `nbf`, `exp`
 * (unless non-expiring) and `jti`. Rejects with TokenInputError for unusable input.
 */
export function issueAccessToken(opts: IssueOptions): Promise<IssuedToken> {
  try {
    return Promise.resolve(issueAccessTokenSync(opts));
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/**
 * Signs a JWS signing input (`<header>.<claims>` in base64url) with one key and
 * returns the signature bytes (ES256 as raw r||s). The private key stays with
 * whoever implements it: the token format needs only the kid, the algorithm and
 * this call, so a key held in a KMS, an HSM or Vault signs the same tokens.
 */
export interface TokenSigner {
  readonly kid: string;
  readonly alg: Algorithm;
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

/** What issuing needs besides the key. */
export type TokenOptions = Omit<IssueOptions, "key">;

/** issueAccessToken, synchronously. Throws TokenInputError for unusable input. */
export function issueAccessTokenSync(opts: IssueOptions): IssuedToken {
  const { key } = opts;
  checkSigningJwk(key);
  const unsigned = prepareToken(key, opts);
  const signature = signWithJwk(key, Buffer.from(unsigned.signingInput, "latin1"));
  return { token: `${unsigned.signingInput}.${Buffer.from(signature).toString("base64url")}`, claims: unsigned.claims, header: unsigned.header };
}

/**
 * Issues a v1 access token signed through `signer`: the same header and claims
 * as issueAccessToken. Rejects with TokenInputError for unusable input, and with
 * the signer's own error when it cannot sign.
 */
export async function issueAccessTokenWith(signer: TokenSigner, opts: TokenOptions): Promise<IssuedToken> {
  if (!ALGORITHMS.includes(signer.alg)) throw new TokenInputError("key.alg", `must be one of ${ALGORITHMS.join(", ")}`);
  if (typeof signer.kid !== "string" || !KID.test(signer.kid)) throw new TokenInputError("key.kid", "must be a base64url JWK thumbprint");
  const unsigned = prepareToken(signer, opts);
  const signature = Buffer.from(await signer.sign(Buffer.from(unsigned.signingInput, "latin1")));
  return { token: `${unsigned.signingInput}.${signature.toString("base64url")}`, claims: unsigned.claims, header: unsigned.header };
}

/**
 * The JWS signature of `signingInput` with a private JWK (ES256 as raw r||s):
 * what a TokenSigner holding the key in memory does. Throws TokenInputError for
 * a key that is not a usable private signing JWK.
 */
export function signWithJwk(key: PrivateJwk, signingInput: Uint8Array): Uint8Array {
  checkSigningJwk(key);
  let signingKey: KeyObject;
  try {
    signingKey = importSigningKey(key, key.alg);
  } catch (e) {
    throw new TokenInputError("key", e instanceof Error ? e.message : String(e));
  }
  return signData(key.alg, signingKey, Buffer.from(signingInput));
}

const KID = /^[A-Za-z0-9_-]{1,256}$/;

function checkSigningJwk(key: PrivateJwk): void {
  if (!ALGORITHMS.includes(key.alg)) throw new TokenInputError("key.alg", `must be one of ${ALGORITHMS.join(", ")}`);
  if (typeof key.d !== "string" || key.d === "") throw new TokenInputError("key.d", "the signing key must be a private JWK");
  if (key.kid !== jwkThumbprint(key)) {
    throw new TokenInputError("key.kid", "is not the RFC 7638 thumbprint of the key; create signing keys with generateSigningKey");
  }
}

/** The header, the claims and the JWS signing input of a token, after checking the options. */
function prepareToken(key: { kid: string; alg: Algorithm }, opts: TokenOptions): { header: TokenHeader; claims: TokenClaims; signingInput: string } {
  const issuer = nonEmpty(opts.issuer, "issuer");
  const apiKey = nonEmpty(opts.apiKey, "apiKey");
  const tenant = nonEmpty(opts.tenant, "tenant");
  if (!(opts.now instanceof Date) || !Number.isFinite(opts.now.getTime()) || opts.now.getTime() < 0) {
    throw new TokenInputError("now", "must be a valid Date after 1970");
  }
  const iat = Math.floor(opts.now.getTime() / 1000);
  const lifetime = opts.lifetimeSeconds;
  if (lifetime !== null && (!Number.isSafeInteger(lifetime) || lifetime <= 0 || !Number.isSafeInteger(iat + lifetime))) {
    throw new TokenInputError("lifetimeSeconds", "must be a positive whole number of seconds, or null for a non-expiring token");
  }
  const jti = opts.jti ?? newJti();
  if (!JTI.test(jti)) throw new TokenInputError("jti", "must be 1 to 256 base64url characters");
  const header: TokenHeader = { alg: key.alg, typ: TOKEN_TYPE, kid: key.kid };
  const claims: TokenClaims = {
    iss: issuer, sub: apiKey, client_id: apiKey, aud: tenant, iat, nbf: iat,
    ...(lifetime === null ? {} : { exp: iat + lifetime }),
    jti,
  };
  return { header, claims, signingInput: `${encodeBase64url(JSON.stringify(header))}.${encodeBase64url(JSON.stringify(claims))}` };
}
