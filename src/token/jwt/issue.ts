import type { KeyObject } from "node:crypto";
import { TokenInputError } from "../errors.ts";
import { encodeBase64url } from "../lib/base64url.ts";
import { importSigningKey, signData } from "../lib/crypto.ts";
import { jwkThumbprint } from "../keys/thumbprint.ts";
import { ALGORITHMS, TOKEN_TYPE } from "../types.ts";
import type { PrivateJwk, TokenClaims, TokenHeader } from "../types.ts";
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

/** issueAccessToken, synchronously. Throws TokenInputError for unusable input. */
export function issueAccessTokenSync(opts: IssueOptions): IssuedToken {
  const { key } = opts;
  if (!ALGORITHMS.includes(key.alg)) throw new TokenInputError("key.alg", `must be one of ${ALGORITHMS.join(", ")}`);
  if (typeof key.d !== "string" || key.d === "") throw new TokenInputError("key.d", "the signing key must be a private JWK");
  if (key.kid !== jwkThumbprint(key)) {
    throw new TokenInputError("key.kid", "is not the RFC 7638 thumbprint of the key; create signing keys with generateSigningKey");
  }
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

  let signingKey: KeyObject;
  try {
    signingKey = importSigningKey(key, key.alg);
  } catch (e) {
    throw new TokenInputError("key", e instanceof Error ? e.message : String(e));
  }
  const header: TokenHeader = { alg: key.alg, typ: TOKEN_TYPE, kid: key.kid };
  const claims: TokenClaims = {
    iss: issuer, sub: apiKey, client_id: apiKey, aud: tenant, iat, nbf: iat,
    ...(lifetime === null ? {} : { exp: iat + lifetime }),
    jti,
  };
  const signingInput = `${encodeBase64url(JSON.stringify(header))}.${encodeBase64url(JSON.stringify(claims))}`;
  const signature = signData(key.alg, signingKey, Buffer.from(signingInput, "latin1"));
  return { token: `${signingInput}.${signature.toString("base64url")}`, claims, header };
}
