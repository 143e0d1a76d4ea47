// One AccessToken, start to finish, without I/O but the signature: plan, have
// the signer sign the token if the plan says so, and say what to write. The
// caller writes the status first (so the new token is on record in
// status.issued), then the Secret, deletes a stale Secret, adds or removes the
// finalizer, records the events and requeues at requeueAt.

import type { AccessTokenStatus } from "../../api/types.generated.ts";
import { issueAccessTokenWith, type Bundle, type RevokedEntry } from "../../token/index.ts";
import { tokenSignerFor, type Signer } from "../../model/signing-key/signer.ts";
import type { SecretObject } from "../../model/signing-key/secret.ts";
import { floorToSecond, formatTime } from "../../model/policy/time.ts";
import { eventOf, type PlannedCondition, type PlannedEvent, type Reason } from "../../model/reasons.ts";
import { setCondition, type Condition } from "../../model/conditions.ts";
import { planToken, type IssueCause, type PlanTokenInput, type TokenPlan } from "./plan.ts";
import { revocationsPublished } from "./revocations.ts";
import { revokedTokenSecret, tokenSecret } from "../../model/access-token/secret.ts";

export interface PlanAccessTokenInput extends PlanTokenInput {
  /** The `iss` of the token: tokenIssuer(configured issuer, tenant, form). */
  issuer: string;
  /** The tenant bundle in the ConfigMap now: a deleted AccessToken keeps its finalizer until its revocations are in it. */
  bundle: Bundle | null;
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
  /** "ensure": the finalizer must be on the object; "remove": take it off; "keep": leave it. */
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
        secret: plan.removeToken && !deleting ? revokedTokenSecret(accessToken, revokedAt) : null,
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
        secret: tokenSecret(accessToken, { token: issued.token, jti, kid: plan.kid, expiresAt: expiresAt ?? null }),
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
