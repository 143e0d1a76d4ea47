// One AccessToken, start to finish, without I/O but the signature: plan, have
// the signer sign the token if the plan says so, and say what to write. The
// caller adds the AccessToken's finalizer when it must be there, writes the
// status (so the new token is on record in status.issued), then the Secret,
// deletes a stale Secret, removes the AccessToken's finalizer when it may go,
// records the events and requeues at requeueAt.
//
// Where the record a deletion revokes is kept: in the token Secret (its
// finalizer and its keyward.dev/issued annotation, written with the token), so a
// new AccessToken costs no finalizer write of its own. The AccessToken keeps the
// finalizer only while no Secret of its carries that record: its Secret was
// deleted by hand (and is not re-created yet), is someone else's, or was written
// before the record existed.

import type { AccessTokenStatus } from "../../api/types.generated.ts";
import { issueAccessTokenWith, type RevokedEntry } from "../../token/index.ts";
import { tokenSignerFor, type Signer } from "../../model/signing-key/signer.ts";
import type { SecretObject } from "../../model/signing-key/secret.ts";
import { floorToSecond, formatTime } from "../../model/policy/time.ts";
import { eventOf, type PlannedCondition, type PlannedEvent, type Reason } from "../../model/reasons.ts";
import { setCondition, type Condition } from "../../model/conditions.ts";
import { planToken, type IssueCause, type PlanTokenInput, type TokenPlan } from "./plan.ts";
import { revocationsPublished, type PublishedRevocations } from "./revocations.ts";
import { carriesRecord, revokedTokenSecret, tokenSecret, withRecord } from "../../model/access-token/secret.ts";
import { isControlledBy } from "../../model/signing-key/secret.ts";
import { ACCESS_TOKEN_SECRET_TYPE } from "../../model/names.ts";

export interface PlanAccessTokenInput extends PlanTokenInput {
  /** The `iss` of the token: tokenIssuer(configured issuer, tenant, form). */
  issuer: string;
  /** What the tenant's published bundle lists: a deleted AccessToken keeps its finalizer until its revocations are in it. */
  bundle: PublishedRevocations | null;
  /** Signs a new token with the ApiKey's active key. */
  signer: Signer;
}

export interface AccessTokenOutcome {
  /** Written first. */
  status: AccessTokenStatus;
  /** Then this Secret is created or replaced; null: leave it as it is. */
  secret: SecretObject | null;
  /** A Secret of this AccessToken under its previous name, to delete once the new one is written. */
  deleteSecret: string | null;
  /**
   * The AccessToken's own finalizer. Alive: "ensure" while it has tokens a
   * verifier may accept and no Secret carries their record (added before any
   * other write), "remove" otherwise (taken off after the Secret is written).
   * Being deleted: "remove" once the bundle lists its revocations, else "keep".
   */
  finalizer: "ensure" | "remove" | "keep";
  /** The AccessToken's entries for the tenant's revocation list. */
  revocations: RevokedEntry[];
  events: PlannedEvent[];
  requeueAt: Date | null;
  plan: TokenPlan;
}

// The first issue is routine (Ready says it): no Event. Every later issue is worth one.
const EVENT_OF_CAUSE: Record<IssueCause, Reason | null> = {
  initial: null,
  renew: "TokenRenewed",
  secretMissing: "TokenReissued",
  secretAltered: "TokenReissued",
  keyRotated: "TokenReissued",
  specChanged: "TokenReissued",
  revokedBefore: "TokenReissued",
};

export async function planAccessToken(input: PlanAccessTokenInput): Promise<AccessTokenOutcome> {
  const outcome = await planWrites(input);
  return input.accessToken.metadata.deletionTimestamp === undefined ? recordKept(input, outcome) : outcome;
}

/**
 * A live AccessToken's record of its tokens: the Secret written carries it; a
 * Secret of its own without it (written before the record existed, or edited)
 * is given it; and the AccessToken keeps the finalizer only when no Secret will
 * carry it.
 */
function recordKept(input: PlanAccessTokenInput, outcome: AccessTokenOutcome): AccessTokenOutcome {
  const uid = input.accessToken.metadata.uid ?? "";
  const live = outcome.status.issued ?? [];
  const current = input.secret;
  let secret = outcome.secret;
  if (
    secret === null &&
    live.length > 0 &&
    current !== null &&
    current.type === ACCESS_TOKEN_SECRET_TYPE &&
    current.metadata.deletionTimestamp === undefined &&
    isControlledBy(current.metadata, uid) &&
    !carriesRecord(current, uid, live)
  ) {
    secret = withRecord(current, live);
  }
  const carried = secret !== null || carriesRecord(current, uid, live);
  return { ...outcome, secret, finalizer: live.length === 0 || carried ? "remove" : "ensure" };
}

async function planWrites(input: PlanAccessTokenInput): Promise<AccessTokenOutcome> {
  const now = floorToSecond(input.now);
  const { accessToken } = input;
  const previous = accessToken.status ?? {};
  const generation = accessToken.metadata.generation;
  const deleting = accessToken.metadata.deletionTimestamp !== undefined;
  const ns = accessToken.metadata.namespace ?? "";
  const who = `AccessToken ${ns}/${accessToken.metadata.name ?? ""}`;
  let conditions: Condition[] = previous.conditions ?? [];
  const set = (c: PlannedCondition): void => {
    conditions = setCondition(conditions, generation === undefined ? c : { ...c, observedGeneration: generation }, now);
  };
  const base: AccessTokenStatus = { ...previous };
  if (generation !== undefined) base.observedGeneration = generation;
  const events: PlannedEvent[] = [];

  const plan = planToken({ ...input, now });
  switch (plan.action) {
    case "revoke": {
      const revokedAt = previous.revokedAt ?? formatTime(now);
      const message = `${who} is revoked${deleting ? " (deleted)" : ""}: ${plan.revocations.length} unexpired token(s) are on the revocation list until they expire`;
      set({ type: "Revoked", status: "True", reason: "Revoked", message });
      set({ type: "Ready", status: "False", reason: "Revoked", message });
      if (previous.revokedAt === undefined) events.push(eventOf("TokenRevoked", message));
      const status: AccessTokenStatus = { ...base, revokedAt, issued: plan.issued, conditions };
      delete status.renewAt;
      return {
        status,
        secret: plan.removeToken && !deleting ? revokedTokenSecret(accessToken, revokedAt, plan.issued) : null,
        deleteSecret: null,
        finalizer: deleting ? (revocationsPublished(input.bundle, plan.revocations) ? "remove" : "keep") : "ensure",
        revocations: plan.revocations,
        events,
        requeueAt: plan.wakeAt,
        plan,
      };
    }
    case "fail": {
      set({ type: "Ready", status: "False", reason: plan.reason, message: plan.message });
      const before = previous.conditions?.find((c) => c.type === "Ready");
      if (before?.reason !== plan.reason || before.message !== plan.message) events.push(eventOf(plan.reason, plan.message));
      return { status: { ...base, conditions }, secret: null, deleteSecret: null, finalizer: "ensure", revocations: [], events, requeueAt: plan.wakeAt, plan };
    }
    case "keep": {
      set({
        type: "Ready",
        status: "True",
        reason: "Issued",
        message: readyMessage(previous.jti ?? "", previous.kid ?? "", previous.expiresAt, plan.renewAt),
      });
      const status: AccessTokenStatus = { ...base, issued: plan.issued, conditions };
      if (plan.renewAt === null) delete status.renewAt;
      else status.renewAt = formatTime(plan.renewAt);
      return { status, secret: null, deleteSecret: null, finalizer: "ensure", revocations: [], events, requeueAt: plan.wakeAt, plan };
    }
    case "issue": {
      const apiKey = input.apiKey;
      const key = apiKey?.activeKey;
      if (apiKey === null || key?.kid !== plan.kid) throw new Error(`${who}: the active key changed while planning; retry`);
      const signer = tokenSignerFor(input.signer, { namespace: ns, name: apiKey.name, uid: apiKey.uid, kid: key.kid, alg: key.alg });
      const issued = await issueAccessTokenWith(signer, {
        issuer: input.issuer,
        apiKey: accessToken.spec.apiKeyName,
        tenant: ns,
        now,
        lifetimeSeconds: plan.lifetimeSeconds,
      });
      const { jti, iat, exp } = issued.claims;
      const expiresAt = exp === undefined ? undefined : formatTime(new Date(exp * 1000));
      set({ type: "Ready", status: "True", reason: "Issued", message: readyMessage(jti, plan.kid, expiresAt, plan.renewAt) });
      const reason = EVENT_OF_CAUSE[plan.cause];
      if (reason !== null) events.push(eventOf(reason, plan.message));
      const status: AccessTokenStatus = {
        ...base,
        jti,
        kid: plan.kid,
        issuedAt: formatTime(new Date(iat * 1000)),
        secretName: plan.secretName,
        issued: [...plan.issued, { jti, kid: plan.kid, ...(expiresAt === undefined ? {} : { expiresAt }) }],
        conditions,
      };
      if (expiresAt === undefined) delete status.expiresAt;
      else status.expiresAt = expiresAt;
      if (plan.renewAt === null) delete status.renewAt;
      else status.renewAt = formatTime(plan.renewAt);
      return {
        status,
        secret: tokenSecret(accessToken, { token: issued.token, jti, kid: plan.kid, expiresAt: expiresAt ?? null }, status.issued ?? []),
        deleteSecret: plan.staleSecretName,
        finalizer: "ensure",
        revocations: [],
        events,
        requeueAt: plan.wakeAt,
        plan,
      };
    }
  }
}

function readyMessage(jti: string, kid: string, expiresAt: string | undefined, renewAt: Date | null): string {
  const expiry = expiresAt === undefined ? "does not expire" : `expires at ${expiresAt}`;
  const renewal = renewAt === null ? "" : `; the next is issued at ${formatTime(renewAt)}`;
  return `token ${jti} signed by key ${kid} ${expiry}${renewal}`;
}
