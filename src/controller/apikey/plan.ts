// planKeys: the signing keys an ApiKey should have now, from the keys it has, its
// rotation policy, the request fields of its spec and the time. Pure apart from the
// key factory it is given; the caller writes the Secret first, then the status.
//
//   prepared --(activatesAt)--> active --(next activation)--> deposed --(notAfter, or dropped)--> gone

import type { ApiKeyStatus } from "../../api/types.generated.ts";
import type { Algorithm, PrivateJwk } from "../../token/index.ts";
import { nextRotation } from "../../model/policy/schedule.ts";
import { addMs, earliest, floorToSecond, formatTime, parseTime } from "../../model/policy/time.ts";
import type { ResolvedRotationPolicy } from "../../model/policy/types.ts";
import { eventOf, type PlannedEvent } from "../../model/reasons.ts";
import { REQUEST_FIELDS, serializeSigningKeys, SIGNING_KEY_DOCUMENT_VERSION, sortKeys, type ObservedRequests, type RequestField, type SigningKeyDocument, type StoredKey } from "../../model/signing-key/document.ts";
import { signingKeySecretName } from "../../model/signing-key/secret.ts";
import { keysStatus, type ApiKeyKeysStatus } from "./status.ts";

/** The request fields of an ApiKey's spec. Each new value of rotate, dropDeposed and revokeAll acts once. */
export interface ApiKeyRequests {
  rotate?: string | undefined;
  dropDeposed?: string | undefined;
  revokeAll?: string | undefined;
  /** RFC 3339: tokens issued before it are refused. It only moves forward. */
  revokeIssuedBefore?: string | undefined;
}

/** What the ApiKey's status says; used only when the signing-key Secret is missing. */
export type ApiKeyStatusInput = Pick<ApiKeyStatus, "keys" | "activeKid" | "lastRotationTime" | "observedRequests">;

export type KeyFactory = (algorithm: Algorithm) => Promise<PrivateJwk>;

export interface PlanKeysInput {
  now: Date;
  apiKey: { namespace: string; name: string };
  /** The signing-key Secret's document, or null when the Secret does not exist. */
  current: SigningKeyDocument | null;
  policy: ResolvedRotationPolicy;
  spec: ApiKeyRequests;
  status: ApiKeyStatusInput;
  /** Makes a new private key (generateSigningKey in production). */
  mintKey: KeyFactory;
}

export type DropCause = "graceOver" | "superseded" | "dropDeposed" | "revokeAll";

export type KeyAction =
  | { type: "mint"; kid: string; state: "active" | "prepared"; activatesAt: string }
  | { type: "activate"; kid: string; at: string }
  | { type: "depose"; kid: string; notAfter: string }
  | { type: "drop"; kid: string; cause: DropCause }
  | { type: "observe"; field: RequestField; value: string }
  | { type: "revokedBefore"; value: string };

/** A spec field that could not be applied: nothing was changed for it. */
export interface SpecProblem {
  field: string;
  message: string;
}

export interface KeyPlan {
  /** The Secret's desired document. */
  document: SigningKeyDocument;
  keys: StoredKey[];
  /** Whether the Secret must be written (created, or its document differs). */
  secretChanged: boolean;
  actions: KeyAction[];
  events: PlannedEvent[];
  /** The earliest of the next rotation, a prepared key's activation, a deposed key's notAfter. */
  nextWakeAt: Date;
  /** The key-derived part of the ApiKey's status. Never any private member. */
  status: ApiKeyKeysStatus;
  problems: SpecProblem[];
}

export async function planKeys(input: PlanKeysInput): Promise<KeyPlan> {
  const now = floorToSecond(input.now);
  const nowText = formatTime(now);
  const { policy, spec, status, apiKey } = input;
  const who = `ApiKey ${apiKey.namespace}/${apiKey.name}`;
  const actions: KeyAction[] = [];
  const events: PlannedEvent[] = [];
  const problems: SpecProblem[] = [];

  const mint = async (state: "active" | "prepared", activatesAt: Date): Promise<StoredKey> => {
    const jwk = await input.mintKey(policy.algorithm);
    const key: StoredKey = { jwk, state, createdAt: nowText, activatesAt: formatTime(activatesAt), notAfter: null };
    actions.push({ type: "mint", kid: jwk.kid, state, activatesAt: key.activatesAt });
    return key;
  };

  let keys: StoredKey[];
  let lastRotation: Date;
  const observed: ObservedRequests = { ...(input.current?.observedRequests ?? status.observedRequests ?? {}) };
  const pending = (field: RequestField): string | null => {
    const value = spec[field];
    return value !== undefined && value !== "" && value !== observed[field] ? value : null;
  };
  const observe = (field: RequestField): void => {
    const value = pending(field);
    if (value === null) return;
    observed[field] = value;
    actions.push({ type: "observe", field, value });
  };

  if (input.current === null) {
    const lostKids = statusKids(status);
    const existed = lostKids.length > 0 || status.lastRotationTime !== undefined;
    const key = await mint("active", now);
    keys = [key];
    lastRotation = now;
    for (const field of REQUEST_FIELDS) observe(field);
    if (existed) {
      events.push(
        eventOf(
          "SigningKeyLost",
          `${who}: its signing-key Secret is missing; minted new active key ${key.jwk.kid}. ` +
            `Tokens signed by the lost keys${lostKids.length > 0 ? ` (${lostKids.join(", ")})` : ""} no longer verify; ` +
            `AccessTokens are re-issued with the new key, other holders need new tokens.`,
        ),
      );
    }
    // The first key of a new ApiKey is routine (Ready says it): no Event.
  } else {
    keys = input.current.keys.map((k) => ({ ...k }));
    lastRotation = parseTime(input.current.lastRotationTime) ?? now;
    keys = advance(keys, now, policy.graceMs, who, actions, events);

    const revokeAll = pending("revokeAll");
    if (revokeAll !== null) {
      for (const k of keys) actions.push({ type: "drop", kid: k.jwk.kid, cause: "revokeAll" });
      const dropped = keys.map((k) => k.jwk.kid);
      const key = await mint("active", now);
      keys = [key];
      lastRotation = now;
      for (const field of REQUEST_FIELDS) observe(field);
      events.push(
        eventOf(
          "AllKeysRevoked",
          `${who}: spec.revokeAll "${revokeAll}" replaced keys ${dropped.join(", ")} with new active key ${key.jwk.kid}; ` +
            `tokens signed by the old keys no longer verify`,
        ),
      );
    } else {
      const dropDeposed = pending("dropDeposed");
      if (dropDeposed !== null) {
        const deposed = keys.find((k) => k.state === "deposed");
        if (deposed === undefined) {
          events.push(eventOf("DeposedKeyDropped", `${who}: spec.dropDeposed "${dropDeposed}": there is no deposed key to drop`));
        } else {
          keys = keys.filter((k) => k !== deposed);
          actions.push({ type: "drop", kid: deposed.jwk.kid, cause: "dropDeposed" });
          events.push(
            eventOf(
              "DeposedKeyDropped",
              `${who}: spec.dropDeposed "${dropDeposed}" dropped deposed key ${deposed.jwk.kid}; tokens signed by it no longer verify`,
            ),
          );
        }
        observe("dropDeposed");
      }

      const requested = pending("rotate");
      const due = now.getTime() >= nextRotation(policy, lastRotation).getTime();
      if (requested !== null || due) {
        const why = requested !== null ? `spec.rotate "${requested}"` : "the rotation schedule";
        const prepared = keys.find((k) => k.state === "prepared");
        if (prepared !== undefined) {
          events.push(
            eventOf(
              "RotationInProgress",
              `${who}: rotation requested by ${why} while key ${prepared.jwk.kid} is prepared; it activates at ${prepared.activatesAt} and serves as this rotation`,
            ),
          );
        } else {
          const key = await mint("prepared", addMs(now, policy.prePublishMs));
          keys.push(key);
          events.push(
            eventOf(
              "RotationStarted",
              `${who}: ${why} started a rotation: key ${key.jwk.kid} (${policy.algorithm}) is published and activates at ${key.activatesAt}`,
            ),
          );
          keys = advance(keys, now, policy.graceMs, who, actions, events);
        }
        lastRotation = now;
        observe("rotate");
      }
    }
  }

  const revokedBefore = applyRevokedBefore(input, now, who, actions, events, problems);

  const document: SigningKeyDocument = {
    version: SIGNING_KEY_DOCUMENT_VERSION,
    keys: sortKeys(keys),
    lastRotationTime: formatTime(lastRotation),
    observedRequests: observed,
    revokedBefore,
  };
  const nextRotationAt = nextRotation(policy, lastRotation);
  const prepared = document.keys.find((k) => k.state === "prepared");
  const deposed = document.keys.find((k) => k.state === "deposed");
  const futureCutoff = pendingCutoff(spec, now);
  const nextWakeAt =
    earliest(
      nextRotationAt,
      prepared === undefined ? null : parseTime(prepared.activatesAt),
      deposed?.notAfter == null ? null : parseTime(deposed.notAfter),
      futureCutoff,
    ) ?? nextRotationAt;

  return {
    document,
    keys: document.keys,
    secretChanged: input.current === null || serializeSigningKeys(document) !== serializeSigningKeys(input.current),
    actions,
    events,
    nextWakeAt,
    status: keysStatus(document, nextRotationAt, signingKeySecretName(apiKey.name)),
    problems,
  };
}

/**
 * Applies the transitions that time alone causes, in order: a prepared key whose
 * activatesAt has passed becomes active, the active key becomes deposed until
 * activatesAt + grace, the deposed key it replaces is removed; a deposed key past
 * notAfter is removed. Every time used comes from the keys, so the result does not
 * depend on when the reconcile runs.
 */
function advance(
  keys: StoredKey[],
  now: Date,
  graceMs: number,
  who: string,
  actions: KeyAction[],
  events: PlannedEvent[],
): StoredKey[] {
  let out = keys;
  const prepared = out.find((k) => k.state === "prepared");
  const activatesAt = prepared === undefined ? null : parseTime(prepared.activatesAt);
  if (prepared !== undefined && activatesAt !== null && activatesAt.getTime() <= now.getTime()) {
    const notAfter = formatTime(addMs(activatesAt, graceMs));
    const active = out.find((k) => k.state === "active");
    const next: StoredKey[] = [{ ...prepared, state: "active", notAfter: null }];
    for (const k of out.filter((k) => k.state === "deposed")) {
      actions.push({ type: "drop", kid: k.jwk.kid, cause: "superseded" });
      events.push(eventOf("DeposedKeyExpired", `${who}: deposed key ${k.jwk.kid} removed: key ${prepared.jwk.kid} became active and deposed its predecessor`));
    }
    if (active !== undefined) {
      next.push({ ...active, state: "deposed", notAfter });
      actions.push({ type: "depose", kid: active.jwk.kid, notAfter });
    }
    actions.push({ type: "activate", kid: prepared.jwk.kid, at: prepared.activatesAt });
    events.push(
      eventOf(
        "KeyActivated",
        `${who}: key ${prepared.jwk.kid} is active since ${prepared.activatesAt}` +
          (active === undefined ? "" : `; key ${active.jwk.kid} is deposed and verifies tokens until ${notAfter}`),
      ),
    );
    out = next;
  }
  return out.filter((k) => {
    if (k.state !== "deposed" || k.notAfter === null) return true;
    const notAfter = parseTime(k.notAfter);
    if (notAfter === null || notAfter.getTime() > now.getTime()) return true;
    actions.push({ type: "drop", kid: k.jwk.kid, cause: "graceOver" });
    events.push(eventOf("DeposedKeyExpired", `${who}: deposed key ${k.jwk.kid} reached the end of its grace window (${k.notAfter}) and was removed`));
    return false;
  });
}

function applyRevokedBefore(
  input: PlanKeysInput,
  now: Date,
  who: string,
  actions: KeyAction[],
  events: PlannedEvent[],
  problems: SpecProblem[],
): string | null {
  const effectiveText = input.current?.revokedBefore ?? null;
  const effective = effectiveText === null ? null : parseTime(effectiveText);
  const requested = input.spec.revokeIssuedBefore;
  if (requested === undefined || requested === "") return effective === null ? null : formatTime(effective);
  const at = parseTime(requested);
  if (at === null) {
    problems.push({
      field: "spec.revokeIssuedBefore",
      message: `${who}: spec.revokeIssuedBefore "${requested}" is not an RFC 3339 time: write it like "2026-11-29T12:00:00Z"; nothing was revoked`,
    });
    return effective === null ? null : formatTime(effective);
  }
  if (at.getTime() > now.getTime()) {
    problems.push({
      field: "spec.revokeIssuedBefore",
      message:
        `${who}: spec.revokeIssuedBefore ${requested} is later than now (${formatTime(now)}): a cut-off must not be in the future; ` +
        `set it to the current time or earlier. It takes effect once that time has passed`,
    });
    return effective === null ? null : formatTime(effective);
  }
  if (effective !== null && at.getTime() <= effective.getTime()) return formatTime(effective);
  const value = formatTime(at);
  actions.push({ type: "revokedBefore", value });
  events.push(eventOf("RevocationCutoffMoved", `${who}: tokens issued before ${value} no longer verify (spec.revokeIssuedBefore)`));
  return value;
}

/** A valid revokeIssuedBefore that lies in the future: the plan wakes when it passes. */
function pendingCutoff(spec: ApiKeyRequests, now: Date): Date | null {
  if (spec.revokeIssuedBefore === undefined) return null;
  const at = parseTime(spec.revokeIssuedBefore);
  return at !== null && at.getTime() > now.getTime() ? at : null;
}

function statusKids(status: ApiKeyStatusInput): string[] {
  const kids = (status.keys ?? []).map((k) => k.kid);
  if (status.activeKid !== undefined && !kids.includes(status.activeKid)) kids.push(status.activeKid);
  return kids;
}
