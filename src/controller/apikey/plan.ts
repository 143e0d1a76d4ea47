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
import { REQUEST_FIELDS, type ApiKeyRequests, type ObservedRequests, type RequestField } from "../../model/requests.ts";
import { serializeSigningKeys, SIGNING_KEY_DOCUMENT_VERSION, sortKeys, type SigningKeyDocument, type StoredKey } from "../../model/signing-key/document.ts";
import { signingKeySecretName } from "../../model/signing-key/location.ts";
import { keysStatus, type ApiKeyKeysStatus } from "./status.ts";
import { PRE_PUBLISH_ONLY, type ActivationGate, type GateOf } from "./gate.ts";

export type { ApiKeyRequests };

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
  /**
   * The activation gate of a prepared key (gate.ts): what the tenant's verifiers enforce.
   * Absent: prePublish alone decides.
   */
  gate?: GateOf;
}

/** Why a prepared key became active: every live verifier held it, or prePublish passed. */
export type ActivationCause = "VerifiersSynced" | "PrePublishElapsed";

/** The activation of a prepared key, as status.lastActivation records it. */
export interface KeyActivation {
  kid: string;
  at: string;
  reason: ActivationCause;
  /** Live verifiers of the tenant at that moment. */
  verifiers: number;
}

export type DropCause = "graceOver" | "superseded" | "dropDeposed" | "revokeAll";

export type KeyAction =
  | { type: "mint"; kid: string; state: "active" | "prepared"; activatesAt: string }
  | { type: "activate"; kid: string; at: string; reason: ActivationCause; verifiers: number }
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
  /** The activation this plan made; null when none. */
  activation: KeyActivation | null;
  /** The gate of the key still prepared after this plan; null when none is. */
  preparedGate: ActivationGate | null;
  problems: SpecProblem[];
}

export async function planKeys(input: PlanKeysInput): Promise<KeyPlan> {
  const p = planning(input);
  const state = input.current === null ? await firstOrLostKey(p) : await fromCurrentKeys(p, input.current);
  const revokedBefore = applyRevokedBefore(input, p.now, p.who, p.actions, p.events, p.problems);
  return keyPlan(p, state, revokedBefore);
}

/** What the steps of planKeys share: the time, the ApiKey's name for messages, and what they record. */
interface Planning {
  readonly input: PlanKeysInput;
  readonly now: Date;
  readonly who: string;
  readonly actions: KeyAction[];
  readonly events: PlannedEvent[];
  readonly problems: SpecProblem[];
  /** The request values acted on, as they stand after this plan. */
  readonly observed: ObservedRequests;
  readonly gate: GateOf;
}

/** The keys after the requests and the schedule, and when the last rotation was. */
interface KeyState {
  keys: StoredKey[];
  lastRotation: Date;
}

function planning(input: PlanKeysInput): Planning {
  return {
    input,
    now: floorToSecond(input.now),
    who: `ApiKey ${input.apiKey.namespace}/${input.apiKey.name}`,
    actions: [],
    events: [],
    problems: [],
    observed: { ...(input.current?.observedRequests ?? input.status.observedRequests ?? {}) },
    gate: input.gate ?? PRE_PUBLISH_ONLY,
  };
}

/** The value of a request field not acted on yet; null when there is none. */
function pending(p: Planning, field: RequestField): string | null {
  const value = p.input.spec[field];
  return value !== undefined && value !== "" && value !== p.observed[field] ? value : null;
}

/** Records a pending request value as acted on. */
function observe(p: Planning, field: RequestField): void {
  const value = pending(p, field);
  if (value === null) return;
  p.observed[field] = value;
  p.actions.push({ type: "observe", field, value });
}

async function mint(p: Planning, state: "active" | "prepared", activatesAt: Date): Promise<StoredKey> {
  const jwk = await p.input.mintKey(p.input.policy.algorithm);
  const key: StoredKey = { jwk, state, createdAt: formatTime(p.now), activatesAt: formatTime(activatesAt), notAfter: null };
  p.actions.push({ type: "mint", kid: jwk.kid, state, activatesAt: key.activatesAt });
  return key;
}

/**
 * No signing-key Secret: a new active key. Routine for a new ApiKey (Ready says it,
 * no Event); SigningKeyLost when the status shows keys existed. Requests present
 * now are recorded without acting on them (the key is new anyway).
 */
async function firstOrLostKey(p: Planning): Promise<KeyState> {
  const { status } = p.input;
  const lostKids = statusKids(status);
  const existed = lostKids.length > 0 || status.lastRotationTime !== undefined;
  const key = await mint(p, "active", p.now);
  for (const field of REQUEST_FIELDS) observe(p, field);
  if (existed) {
    p.events.push(
      eventOf(
        "SigningKeyLost",
        `${p.who}: its signing-key Secret is missing; minted new active key ${key.jwk.kid}. ` +
          `Tokens signed by the lost keys${lostKids.length > 0 ? ` (${lostKids.join(", ")})` : ""} no longer verify; ` +
          `AccessTokens are re-issued with the new key, other holders need new tokens.`,
      ),
    );
  }
  return { keys: [key], lastRotation: p.now };
}

/** The keys of the Secret, moved on by time, then by the requests (revokeAll wins), then by the schedule. */
async function fromCurrentKeys(p: Planning, current: SigningKeyDocument): Promise<KeyState> {
  const keys = advance(current.keys.map((k) => ({ ...k })), p);
  const lastRotation = parseTime(current.lastRotationTime) ?? p.now;
  const revokeAll = pending(p, "revokeAll");
  if (revokeAll !== null) return revokeAllKeys(p, keys, revokeAll);
  return rotateIfDue(p, { keys: dropDeposedKey(p, keys), lastRotation });
}

/** spec.revokeAll: every key replaced by a new active key at once. */
async function revokeAllKeys(p: Planning, keys: StoredKey[], value: string): Promise<KeyState> {
  for (const k of keys) p.actions.push({ type: "drop", kid: k.jwk.kid, cause: "revokeAll" });
  const dropped = keys.map((k) => k.jwk.kid);
  const key = await mint(p, "active", p.now);
  for (const field of REQUEST_FIELDS) observe(p, field);
  p.events.push(
    eventOf(
      "AllKeysRevoked",
      `${p.who}: spec.revokeAll "${value}" replaced keys ${dropped.join(", ")} with new active key ${key.jwk.kid}; ` +
        `tokens signed by the old keys no longer verify`,
    ),
  );
  return { keys: [key], lastRotation: p.now };
}

/** spec.dropDeposed: the deposed key goes now (an Event says so, or that there was none). */
function dropDeposedKey(p: Planning, keys: StoredKey[]): StoredKey[] {
  const value = pending(p, "dropDeposed");
  if (value === null) return keys;
  const deposed = keys.find((k) => k.state === "deposed");
  let out = keys;
  if (deposed === undefined) {
    p.events.push(eventOf("DeposedKeyDropped", `${p.who}: spec.dropDeposed "${value}": there is no deposed key to drop`));
  } else {
    out = keys.filter((k) => k !== deposed);
    p.actions.push({ type: "drop", kid: deposed.jwk.kid, cause: "dropDeposed" });
    p.events.push(eventOf("DeposedKeyDropped", `${p.who}: spec.dropDeposed "${value}" dropped deposed key ${deposed.jwk.kid}; tokens signed by it no longer verify`));
  }
  observe(p, "dropDeposed");
  return out;
}

/**
 * spec.rotate or the schedule: a prepared key, published now and active after
 * prePublish. A rotation due while a key is prepared is served by that key.
 */
async function rotateIfDue(p: Planning, state: KeyState): Promise<KeyState> {
  const { policy } = p.input;
  const requested = pending(p, "rotate");
  const due = p.now.getTime() >= nextRotation(policy, state.lastRotation).getTime();
  if (requested === null && !due) return state;
  const why = requested !== null ? `spec.rotate "${requested}"` : "the rotation schedule";
  let keys = state.keys;
  const prepared = keys.find((k) => k.state === "prepared");
  if (prepared !== undefined) {
    p.events.push(
      eventOf(
        "RotationInProgress",
        `${p.who}: rotation requested by ${why} while key ${prepared.jwk.kid} is prepared; it activates at ${prepared.activatesAt} and serves as this rotation`,
      ),
    );
  } else {
    const key = await mint(p, "prepared", addMs(p.now, policy.prePublishMs));
    p.events.push(
      eventOf("RotationStarted", `${p.who}: ${why} started a rotation: key ${key.jwk.kid} (${policy.algorithm}) is published and activates at ${key.activatesAt}`),
    );
    keys = advance([...keys, key], p);
  }
  observe(p, "rotate");
  return { keys, lastRotation: p.now };
}

/** The plan: the Secret's document, whether it changed, and when to look again. */
function keyPlan(p: Planning, state: KeyState, revokedBefore: string | null): KeyPlan {
  const { input, now } = p;
  const document: SigningKeyDocument = {
    version: SIGNING_KEY_DOCUMENT_VERSION,
    keys: sortKeys(state.keys),
    lastRotationTime: formatTime(state.lastRotation),
    observedRequests: p.observed,
    revokedBefore,
  };
  const nextRotationAt = nextRotation(input.policy, state.lastRotation);
  const prepared = document.keys.find((k) => k.state === "prepared");
  const deposed = document.keys.find((k) => k.state === "deposed");
  const preparedGate = prepared === undefined ? null : p.gate(prepared.jwk.kid);
  const activate = p.actions.find((a) => a.type === "activate");
  const nextWakeAt =
    earliest(
      nextRotationAt,
      prepared === undefined ? null : parseTime(prepared.activatesAt),
      // A verifier that ages out may be the last one the gate waits for.
      preparedGate?.kind === "waiting" ? preparedGate.recheckAt : null,
      deposed?.notAfter == null ? null : parseTime(deposed.notAfter),
      pendingCutoff(input.spec, now),
    ) ?? nextRotationAt;
  return {
    document,
    keys: document.keys,
    secretChanged: input.current === null || serializeSigningKeys(document) !== serializeSigningKeys(input.current),
    actions: p.actions,
    events: p.events,
    nextWakeAt,
    status: keysStatus(document, nextRotationAt, signingKeySecretName(input.apiKey.namespace, input.apiKey.name)),
    activation: activate === undefined ? null : { kid: activate.kid, at: activate.at, reason: activate.reason, verifiers: activate.verifiers },
    preparedGate,
    problems: p.problems,
  };
}

/**
 * Applies the transitions that time (or the verifiers) cause, in order: a prepared key
 * whose activatesAt has passed, or that every live verifier of the tenant enforces,
 * becomes active, the active key becomes deposed until its activation + grace, the
 * deposed key it replaces is removed; a deposed key past notAfter is removed. The times
 * used come from the keys (an activation by the verifiers is recorded as the key's
 * activatesAt), so the result does not depend on when the reconcile runs.
 */
function advance(keys: StoredKey[], p: Planning): StoredKey[] {
  const { now, who, actions, events } = p;
  const graceMs = p.input.policy.graceMs;
  let out = keys;
  let prepared = out.find((k) => k.state === "prepared");
  const due = prepared === undefined ? null : parseTime(prepared.activatesAt);
  // A key minted by this very plan is in no bundle yet: the gate is not asked about it.
  const mintedNow = prepared !== undefined && actions.some((a) => a.type === "mint" && a.kid === prepared?.jwk.kid);
  const gate = prepared === undefined || mintedNow || (due !== null && due.getTime() <= now.getTime()) ? null : p.gate(prepared.jwk.kid);
  if (prepared !== undefined && gate?.kind === "held") {
    // Every live verifier enforces a bundle that holds it: active now, before prePublish ends.
    prepared = { ...prepared, activatesAt: formatTime(now) };
  }
  const activatesAt = prepared === undefined ? null : parseTime(prepared.activatesAt);
  if (prepared !== undefined && activatesAt !== null && activatesAt.getTime() <= now.getTime()) {
    const byVerifiers = gate?.kind === "held";
    const at = p.gate(prepared.jwk.kid);
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
    const verifiers = at.kind === "prePublish" ? 0 : at.live;
    actions.push({ type: "activate", kid: prepared.jwk.kid, at: prepared.activatesAt, reason: byVerifiers ? "VerifiersSynced" : "PrePublishElapsed", verifiers });
    events.push(
      eventOf(
        "KeyActivated",
        `${who}: key ${prepared.jwk.kid} is active since ${prepared.activatesAt}${activationWhy(byVerifiers ? gate : at)}` +
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

/** Why a key became active, for its Event; nothing when no verifier reports (prePublish alone, as ever). */
function activationWhy(gate: ActivationGate | null): string {
  if (gate === null || gate.kind === "prePublish") return "";
  if (gate.kind === "held") return ` (every one of ${gate.live} live verifier(s) of the tenant enforces bundle generation ${gate.generation} or later, which holds it)`;
  return ` (prePublish passed while ${gate.behind} of ${gate.live} live verifier(s) did not enforce a bundle holding it yet; \`kubectl keyward status\` lists them)`;
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
