// Issuing a token for an ApiKey through the token service: the checks on the
// target, the lifetime the rotation policy allows, signing with the active key,
// and recording the IssuedToken before anything is handed out.

import type { ApiKey, IssuedToken } from "../api/types.generated.ts";
import { formatDuration } from "../api/duration.ts";
import { describeSource, MIN_TOKEN_LIFETIME_MS, resolveRotationPolicy, type ResolvedRotationPolicy } from "../model/policy/index.ts";
import type { KubeClient } from "../kube/client.ts";
import { Resources } from "../kube/resources.ts";
import { errorFields, type Logger } from "../kube/logger.ts";
import type { KubeObject } from "../kube/types.ts";
import { issueAccessTokenWith, parseRfc3339, tokenIssuer, type IssuedToken as SignedToken, type IssuerForm } from "../token/index.ts";
import type { IssuerCache } from "./cache.ts";
import { IssuerError } from "./errors.ts";
import { issuedTokenObject } from "../model/issued-token.ts";
import { activeSigningKey, readSigningKeySecret } from "../model/signing-key/secret.ts";
import { currentKeySecret } from "../model/signing-key/location.ts";
import { SignerError, tokenSignerFor, type Signer } from "../model/signing-key/signer.ts";

/** Where IssuedTokens are written. kubeIssuedTokenStore writes them through the API. */
export interface IssuedTokenStore {
  /** Resolves once the record is stored; rejects when it is not. */
  create(record: IssuedToken): Promise<void>;
}

export function kubeIssuedTokenStore(client: KubeClient): IssuedTokenStore {
  return {
    create: async (record) => {
      await client.create(Resources.issuedTokens, record);
    },
  };
}

/** Where audit Events go. The controller runtime's EventRecorder fits; recording never throws. */
export interface AuditEvents {
  normal(obj: KubeObject, reason: string, message: string): Promise<void>;
}

export interface IssueContext {
  cache: IssuerCache;
  store: IssuedTokenStore;
  events: AuditEvents | null;
  log: Logger;
  /** The configured issuer. */
  issuer: string;
  /** The form of `iss` tokens carry: the tenant's issuer (default) or the configured issuer itself. */
  issuerForm: IssuerForm;
  /** keyward's own namespace, where the ApiKeys' signing-key Secrets are. */
  systemNamespace: string;
  /** Signs every token: the service never holds a private key. */
  signer: Signer;
}

export interface IssueRequest {
  tenant: string;
  apiKeyName: string;
  /** RFC 3339 from the request, or undefined for the policy's defaultTokenLifetime. */
  expiresAt: string | undefined;
  /** "ApiKey <ns>/<name>" or "oauth2-client <ns>/<name>". */
  issuedBy: string;
  /** For the audit line: "issuer-api" or "oauth2". */
  via: "issuer-api" | "oauth2";
  now: Date;
}

export interface IssueResult {
  token: string;
  jti: string;
  kid: string;
  /** Seconds since the epoch. */
  issuedAt: number;
  /** Seconds since the epoch. */
  expiresAt: number;
}

function isReady(apiKey: ApiKey): boolean {
  return (apiKey.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

/** The target ApiKey if tokens may be issued for it; an IssuerError naming the ApiKey and the fix otherwise. */
export function usableApiKey(cache: IssuerCache, tenant: string, name: string): ApiKey {
  const who = `ApiKey ${tenant}/${name}`;
  const apiKey = cache.apiKeys.get(tenant, name);
  if (apiKey === undefined) throw new IssuerError("ERR_API_KEY_NOT_FOUND", `${who} does not exist: create it, or name an ApiKey of tenant ${tenant}`);
  if (apiKey.metadata.deletionTimestamp !== undefined) throw new IssuerError("ERR_API_KEY_NOT_READY", `${who} is being deleted`);
  if (apiKey.spec?.suspended === true) throw new IssuerError("ERR_API_KEY_NOT_READY", `${who} is suspended: set spec.suspended to false to issue tokens for it`);
  if (!isReady(apiKey)) throw new IssuerError("ERR_API_KEY_NOT_READY", `${who} is not Ready: see its conditions (kubectl describe apikey ${name} -n ${tenant})`);
  return apiKey;
}

function policyOf(cache: IssuerCache, apiKey: ApiKey, tenant: string): ResolvedRotationPolicy {
  const resolution = resolveRotationPolicy({
    apiKey: { namespace: tenant, name: apiKey.metadata.name ?? "", rotationPolicyRef: apiKey.spec?.rotationPolicyRef },
    getRotationPolicy: (ns, n) => cache.rotationPolicies.get(ns, n)?.spec,
    getClusterRotationPolicy: (n) => cache.clusterRotationPolicies.get(undefined, n)?.spec,
  });
  if (!resolution.ok) throw new IssuerError("ERR_POLICY_UNAVAILABLE", resolution.message);
  return resolution.policy;
}

/** The token's lifetime in whole seconds from `iat`, bounded by the policy. */
export function lifetimeSeconds(policy: ResolvedRotationPolicy, expiresAt: string | undefined, iat: number, who: string): number {
  if (expiresAt === undefined) return Math.floor(policy.defaultTokenLifetimeMs / 1000);
  const at = parseRfc3339(expiresAt);
  if (at === null) {
    throw new IssuerError("ERR_EXPIRES_AT", `expires-at: "${expiresAt.slice(0, 64)}" is not an RFC 3339 date-time such as 2026-12-01T12:00:00Z`, "expires-at");
  }
  const exp = Math.floor(at / 1000);
  const lifetimeMs = (exp - iat) * 1000;
  const max = policy.maxTokenLifetimeMs;
  const bound = `the maxTokenLifetime of ${formatDuration(max)} set by ${describeSource(policy.source)} for ${who}`;
  if (lifetimeMs < MIN_TOKEN_LIFETIME_MS) {
    throw new IssuerError("ERR_EXPIRES_AT", `expires-at: ${expiresAt} must be at least ${formatDuration(MIN_TOKEN_LIFETIME_MS)} in the future`, "expires-at");
  }
  if (lifetimeMs > max) {
    const latest = new Date((iat * 1000) + max).toISOString().replace(/\.\d{3}Z$/, "Z");
    throw new IssuerError("ERR_EXPIRES_AT", `expires-at: ${expiresAt} is beyond ${bound}: ask for ${latest} or earlier, or omit expires-at for the default of ${formatDuration(policy.defaultTokenLifetimeMs)}`, "expires-at");
  }
  return exp - iat;
}

/**
 * Issues a token for the target ApiKey and records its IssuedToken first: when
 * the record cannot be written, no token leaves (ERR_RECORD_FAILED). Then an
 * audit line and an Event, never with the token.
 */
export async function issueForApiKey(ctx: IssueContext, req: IssueRequest): Promise<IssueResult> {
  const apiKey = usableApiKey(ctx.cache, req.tenant, req.apiKeyName);
  const who = `ApiKey ${req.tenant}/${req.apiKeyName}`;
  const policy = policyOf(ctx.cache, apiKey, req.tenant);
  const iat = Math.floor(req.now.getTime() / 1000);
  const lifetime = lifetimeSeconds(policy, req.expiresAt, iat, who);

  const ref = { namespace: req.tenant, name: req.apiKeyName, uid: apiKey.metadata.uid ?? "" };
  const read = readSigningKeySecret(currentKeySecret(ctx.cache.secrets, ctx.systemNamespace, ref), ref);
  if (read.kind !== "ok") {
    throw new IssuerError("ERR_API_KEY_NOT_READY", `${who}: its signing key cannot be used (${read.kind === "missing" ? "its signing-key Secret does not exist yet" : read.message})`);
  }
  // Which key signs, from the document; the signature, from the signer.
  const active = activeSigningKey(read.document);
  const key = { kid: active.kid, alg: active.alg };
  let issued: SignedToken;
  try {
    issued = await issueAccessTokenWith(tokenSignerFor(ctx.signer, { ...ref, ...key }), { issuer: tokenIssuer(ctx.issuer, req.tenant, ctx.issuerForm), apiKey: req.apiKeyName, tenant: req.tenant, now: req.now, lifetimeSeconds: lifetime });
  } catch (err) {
    if (!(err instanceof SignerError)) throw err;
    throw new IssuerError("ERR_API_KEY_NOT_READY", `${who}: ${err.message}; retry shortly`);
  }
  const { jti, iat: issuedAt } = issued.claims;
  const expiresAt = issuedAt + lifetime;
  const record = issuedTokenObject({ apiKey, jti, kid: key.kid, issuedAt, expiresAt, issuedBy: req.issuedBy });
  try {
    await ctx.store.create(record);
  } catch (err) {
    ctx.log.error({ audit: "token_not_issued", tenant: req.tenant, apiKey: req.apiKeyName, jti, kid: key.kid, issuedBy: req.issuedBy, err: errorFields(err) }, "the IssuedToken could not be recorded; no token was handed out");
    throw new IssuerError("ERR_RECORD_FAILED", `the record of the token could not be written (IssuedToken ${req.tenant}/${record.metadata.name ?? ""}): no token was issued; retry later`);
  }
  ctx.log.info(
    { audit: "token_issued", via: req.via, tenant: req.tenant, apiKey: req.apiKeyName, jti, kid: key.kid, issuedBy: req.issuedBy, exp: expiresAt, issuedToken: record.metadata.name },
    "token issued",
  );
  if (ctx.events !== null) {
    void ctx.events.normal(
      apiKey,
      "TokenIssued",
      `token ${jti} issued for ${who} to ${req.issuedBy}, signed by key ${key.kid}, expires ${new Date(expiresAt * 1000).toISOString()} (IssuedToken ${record.metadata.name ?? ""})`,
    );
  }
  return { token: issued.token, jti, kid: key.kid, issuedAt, expiresAt };
}
