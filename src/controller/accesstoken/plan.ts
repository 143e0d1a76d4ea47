// planToken: what to do about one AccessToken now — keep its token, issue a new
// one, refuse (with the field and the fix), or revoke. Pure: the caller issues
// the token (issueAccessToken) and writes the status before the Secret, so a
// token is on record in status.issued before anyone can read it.

import type { AccessToken, AccessTokenStatus, AccessTokenStatusIssued, ApiKey } from "../../api/types.generated.ts";
import { REVOKED_RETENTION_SECONDS, type PublicJwk, type RevokedEntry } from "../../token/index.ts";
import type { SigningKeyDocument } from "../../model/signing-key/document.ts";
import type { SecretObject } from "../../model/signing-key/secret.ts";
import type { PolicyResolution } from "../../model/policy/resolve.ts";
import { addMs, earliest, floorToSecond, formatTime, parseTime } from "../../model/policy/time.ts";
import type { ResolvedRotationPolicy } from "../../model/policy/types.ts";
import { isRevoking, liveIssued, MAX_ISSUED, revocationsOf } from "./revocations.ts";
import { inspectTokenSecret, tokenSecretName, type TokenSecretState } from "../../model/access-token/secret.ts";
import { checkTokenSpec } from "./spec.ts";

/** What the AccessToken needs to know about its ApiKey. */
export interface ApiKeyForToken {
  name: string;
  uid: string;
  suspended: boolean;
  /** The key that signs new tokens (which one, never its private members: the signer signs); null while the ApiKey has none. */
  activeKey: Pick<PublicJwk, "kid" | "alg"> | null;
  /** Every kid the ApiKey has (prepared, active, deposed); null while its signing-key Secret cannot be read. */
  kids: readonly string[] | null;
  /** RFC 3339: tokens issued before it are refused. */
  revokedBefore: string | null;
  /** Null while the ApiKey's rotation policy cannot be used. */
  policy: ResolvedRotationPolicy | null;
}

/** The ApiKey as an AccessToken sees it; null for a missing ApiKey or one being deleted. */
export function apiKeyForToken(
  apiKey: ApiKey | null,
  document: SigningKeyDocument | null,
  policy: PolicyResolution | null,
): ApiKeyForToken | null {
  if (apiKey === null || apiKey.metadata.deletionTimestamp !== undefined) return null;
  const active = document?.keys.find((k) => k.state === "active")?.jwk;
  return {
    name: apiKey.metadata.name ?? "",
    uid: apiKey.metadata.uid ?? "",
    suspended: apiKey.spec?.suspended === true,
    activeKey: active === undefined ? null : { kid: active.kid, alg: active.alg },
    kids: document === null ? null : document.keys.map((k) => k.jwk.kid),
    revokedBefore: document?.revokedBefore ?? null,
    policy: policy?.ok === true ? policy.policy : null,
  };
}

export interface PlanTokenInput {
  now: Date;
  accessToken: AccessToken;
  /** The Secret named by tokenSecretName(accessToken), or null. */
  secret: SecretObject | null;
  apiKey: ApiKeyForToken | null;
}

export type IssueCause = "initial" | "secretMissing" | "secretAltered" | "keyRotated" | "specChanged" | "revokedBefore" | "renew";

export type FailReason =
  | "ApiKeyNotFound"
  | "ApiKeySuspended"
  | "ApiKeyNotReady"
  | "LifetimeExceedsPolicy"
  | "NeverExpiresNotAllowed"
  | "InvalidSpec"
  | "TokenSecretConflict"
  | "TooManyTokens";

export type TokenPlan =
  | {
      action: "keep";
      reason: "Issued";
      /** When the current token is renewed; null for a token without exp. */
      renewAt: Date | null;
      issued: AccessTokenStatusIssued[];
      wakeAt: Date | null;
    }
  | {
      action: "issue";
      reason: "Issued";
      cause: IssueCause;
      message: string;
      /** The key to sign with (the ApiKey's active key). */
      kid: string;
      lifetimeSeconds: number | null;
      /** When the new token is to be renewed; null for a token without exp. */
      renewAt: Date | null;
      secretName: string;
      /** A Secret of this AccessToken under its previous spec.secretName, to delete. */
      staleSecretName: string | null;
      /** status.issued without entries no verifier accepts any more; the new token goes last. */
      issued: AccessTokenStatusIssued[];
      wakeAt: Date | null;
    }
  | {
      action: "fail";
      reason: FailReason;
      /** Names the AccessToken, the field and the fix. */
      message: string;
      field: string | null;
      wakeAt: Date | null;
    }
  | {
      action: "revoke";
      reason: "Revoked";
      /** The entries the tenant's revocation list must hold. */
      revocations: RevokedEntry[];
      issued: AccessTokenStatusIssued[];
      /** Whether the Secret still holds a token to remove. */
      removeToken: boolean;
      wakeAt: Date | null;
    };

export function planToken(input: PlanTokenInput): TokenPlan {
  const now = floorToSecond(input.now);
  const { accessToken, apiKey } = input;
  const status = accessToken.status ?? {};
  const ns = accessToken.metadata.namespace ?? "";
  const who = `AccessToken ${ns}/${accessToken.metadata.name ?? ""}`;
  const apiKeyName = accessToken.spec.apiKeyName;
  // Entries signed by keys the ApiKey no longer has are dropped only when its keys are known.
  const kids = apiKey?.kids == null ? null : new Set(apiKey.kids);
  const live = liveIssued(status.issued ?? [], now, kids);
  const pruneWake = earliestPrune(live);

  if (isRevoking(accessToken)) {
    const state = inspectTokenSecret(input.secret, accessToken);
    return {
      action: "revoke",
      reason: "Revoked",
      revocations: revocationsOf({ ...accessToken, status: { ...status, issued: live } }, now),
      issued: live,
      removeToken: state.kind === "intact" || state.kind === "altered",
      wakeAt: pruneWake,
    };
  }
  const usable = usableApiKey(who, ns, apiKeyName, apiKey);
  if ("plan" in usable) return usable.plan;
  const key = usable.apiKey;
  const terms = checkTokenSpec(accessToken, key.policy);
  if (!terms.ok) return fail(terms.reason, terms.field, terms.message);

  const secretName = tokenSecretName(accessToken);
  const secretState = inspectTokenSecret(input.secret, accessToken);
  if (secretState.kind === "foreign") return fail("TokenSecretConflict", "spec.secretName", `${who}: ${secretState.message}`);

  const active = key.activeKey;
  const renewAtOf = (iat: Date): Date | null =>
    terms.lifetimeSeconds === null || terms.renewBeforeMs === null
      ? null
      : addMs(iat, terms.lifetimeSeconds * 1000 - terms.renewBeforeMs);
  const issuedAt = status.issuedAt === undefined ? null : parseTime(status.issuedAt);
  const renewAt = issuedAt === null ? null : renewAtOf(issuedAt);
  if (input.secret?.metadata.deletionTimestamp !== undefined) {
    // Its Secret is being deleted (by hand: it waits on its finalizer): the next token goes into a new one once it is gone.
    return { action: "keep", reason: "Issued", renewAt, issued: live, wakeAt: pruneWake };
  }
  const reissue = reissueCause({ who, ns, apiKeyName, now, status, secretName, secretState, activeKid: active.kid, lifetimeSeconds: terms.lifetimeSeconds, revokedBefore: key.revokedBefore, renewAt });
  if (reissue === null) {
    return { action: "keep", reason: "Issued", renewAt, issued: live, wakeAt: earliest(renewAt, pruneWake) };
  }
  const { cause, message } = reissue;
  if (live.length >= MAX_ISSUED) {
    return fail(
      "TooManyTokens",
      null,
      `${who}: ${MAX_ISSUED} tokens issued for it are still valid, the most its status records; no more is issued until the oldest expires ` +
        `(${formatTime(pruneWake ?? now)}), so that revoking the AccessToken still covers every token. ` +
        `To replace them all now, set a new spec.revokeAll value on ApiKey ${ns}/${apiKeyName}`,
      pruneWake,
    );
  }
  const nextRenewAt = renewAtOf(now);
  return {
    action: "issue",
    reason: "Issued",
    cause,
    message,
    kid: active.kid,
    lifetimeSeconds: terms.lifetimeSeconds,
    renewAt: nextRenewAt,
    secretName,
    staleSecretName: cause === "specChanged" && status.secretName !== undefined && status.secretName !== secretName ? status.secretName : null,
    issued: live,
    wakeAt: earliest(nextRenewAt, pruneWake),
  };
}

function fail(reason: FailReason, field: string | null, message: string, wakeAt: Date | null = null): TokenPlan {
  return { action: "fail", reason, field, message, wakeAt };
}

type UsableApiKey = ApiKeyForToken & { policy: NonNullable<ApiKeyForToken["policy"]>; activeKey: NonNullable<ApiKeyForToken["activeKey"]> };

/** The ApiKey when a token can be issued for it; else the plan saying why not (missing, suspended, not ready). */
function usableApiKey(who: string, ns: string, apiKeyName: string, apiKey: ApiKeyForToken | null): { apiKey: UsableApiKey } | { plan: TokenPlan } {
  if (apiKey === null) {
    return { plan: fail(
      "ApiKeyNotFound",
      "spec.apiKeyName",
      `${who}: spec.apiKeyName names ApiKey "${apiKeyName}", which does not exist in namespace ${ns}: create it, or create a new AccessToken for an existing ApiKey`,
    ) };
  }
  if (apiKey.suspended) {
    return { plan: fail(
      "ApiKeySuspended",
      "spec.apiKeyName",
      `${who}: ApiKey ${ns}/${apiKeyName} is suspended, so no token is issued; set its spec.suspended to false to resume`,
    ) };
  }
  const { policy, activeKey } = apiKey;
  if (policy === null || activeKey === null) {
    const what = policy === null ? "its rotation policy cannot be used" : "it has no active signing key yet";
    return { plan: fail("ApiKeyNotReady", "spec.apiKeyName", `${who}: ApiKey ${ns}/${apiKeyName} is not ready (${what}); see its Ready condition`) };
  }
  return { apiKey: { ...apiKey, policy, activeKey } };
}

interface ReissueInput {
  who: string;
  ns: string;
  apiKeyName: string;
  now: Date;
  status: AccessTokenStatus;
  secretName: string;
  secretState: TokenSecretState;
  activeKid: string;
  /** The lifetime the spec asks for; null: never expires. */
  lifetimeSeconds: number | null;
  revokedBefore: string | null;
  /** When the current token is due for renewal; null: never. */
  renewAt: Date | null;
}

/** Why the AccessToken needs a new token now, in the order the checks apply; null when its token stays. */
function reissueCause(input: ReissueInput): { cause: IssueCause; message: string } | null {
  const { who, ns, apiKeyName, now, status, secretName, secretState, activeKid, lifetimeSeconds, renewAt } = input;
  const secretRef = `Secret ${ns}/${secretName}`;
  const issuedAt = status.issuedAt === undefined ? null : parseTime(status.issuedAt);
  if (status.jti === undefined || issuedAt === null) return { cause: "initial", message: `${who}: issued its first token into ${secretRef}` };
  if (status.secretName !== undefined && status.secretName !== secretName) {
    return { cause: "specChanged", message: `${who}: spec.secretName changed from ${status.secretName} to ${secretName}; issued a new token into ${secretRef}` };
  }
  if (secretState.kind === "missing") return { cause: "secretMissing", message: `${who}: ${secretRef} was deleted; issued a new token into it` };
  if (secretState.kind === "altered" || secretState.kind === "empty") {
    const what = secretState.kind === "empty" ? "it holds no token" : secretState.what;
    return { cause: "secretAltered", message: `${who}: ${secretRef} was altered (${what}); issued a new token into it` };
  }
  if (status.kid !== activeKid) {
    return { cause: "keyRotated", message: `${who}: key ${status.kid ?? ""} no longer signs for ApiKey ${ns}/${apiKeyName}; issued a token signed by its active key ${activeKid}` };
  }
  const expiresAt = status.expiresAt === undefined ? null : parseTime(status.expiresAt);
  const currentLifetime = expiresAt === null ? null : Math.round((expiresAt.getTime() - issuedAt.getTime()) / 1000);
  if (currentLifetime !== lifetimeSeconds) {
    return { cause: "specChanged", message: `${who}: the lifetime changed to ${lifetimeSeconds === null ? "never expiring" : `${lifetimeSeconds}s`}; issued a new token` };
  }
  const cutoff = input.revokedBefore === null ? null : parseTime(input.revokedBefore);
  if (cutoff !== null && issuedAt.getTime() < cutoff.getTime()) {
    return { cause: "revokedBefore", message: `${who}: its token was issued before the revocation cut-off of ApiKey ${ns}/${apiKeyName} (${input.revokedBefore ?? ""}); issued a new token` };
  }
  if (renewAt !== null && now.getTime() >= renewAt.getTime()) {
    return { cause: "renew", message: `${who}: the token reached its renewal time ${formatTime(renewAt)}; issued the next token` };
  }
  return null;
}

/** When the first of the issued tokens leaves status.issued. */
function earliestPrune(issued: readonly AccessTokenStatusIssued[]): Date | null {
  return earliest(
    ...issued.map((e) => {
      const exp = e.expiresAt === undefined ? null : parseTime(e.expiresAt);
      return exp === null ? null : addMs(exp, REVOKED_RETENTION_SECONDS * 1000);
    }),
  );
}
