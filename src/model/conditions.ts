// Helpers for lists of metav1.Condition: set one keeping lastTransitionTime when
// its status does not change, and compare statuses so an unchanged one is never
// written. Every function is pure: inputs are not modified.

export type ConditionStatus = "True" | "False" | "Unknown";

/** metav1.Condition. lastTransitionTime is RFC 3339 in whole seconds. */
export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  /** CamelCase, machine-readable; also used as the reason of the matching Event. */
  reason: string;
  /** Human-readable; never a secret or a token. */
  message: string;
}

/** A condition as a reconciler states it; the time is filled in by setCondition. */
export type ConditionInput = Omit<Condition, "lastTransitionTime"> & { lastTransitionTime?: string };

// The validation patterns of metav1.Condition (k8s.io/apimachinery).
const TYPE_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;
const REASON_RE = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;
const MAX_MESSAGE = 32768;

/** A condition the API server would refuse. */
export class ConditionError extends Error {
  readonly code = "ERR_CONDITION_INVALID";
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "ConditionError";
    this.field = field;
  }
}

/** metav1.Time: RFC 3339 in whole seconds, UTC. */
export function formatTime(time: number | Date): string {
  const ms = typeof time === "number" ? time : time.getTime();
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

export function validateCondition(c: ConditionInput): void {
  if (c.type.length > 316 || !TYPE_RE.test(c.type)) {
    throw new ConditionError("type", `"${c.type}" is not a valid condition type (CamelCase, optionally prefixed with a DNS subdomain and "/")`);
  }
  const status: string = c.status;
  if (status !== "True" && status !== "False" && status !== "Unknown") {
    throw new ConditionError(`${c.type}.status`, `must be True, False or Unknown, got "${status}"`);
  }
  if (c.reason.length > 1024 || !REASON_RE.test(c.reason)) {
    throw new ConditionError(`${c.type}.reason`, `"${c.reason}" is not a valid reason (CamelCase: a letter, then letters, digits, "_", "," or ":")`);
  }
  if (c.message.length > MAX_MESSAGE) {
    throw new ConditionError(`${c.type}.message`, `is ${c.message.length} characters, at most ${MAX_MESSAGE} are allowed`);
  }
  if (c.observedGeneration !== undefined && (!Number.isInteger(c.observedGeneration) || c.observedGeneration < 0)) {
    throw new ConditionError(`${c.type}.observedGeneration`, `must be a non-negative integer, got ${c.observedGeneration}`);
  }
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "True";
}

/**
 * Returns `conditions` with `input` set. lastTransitionTime becomes `now` when
 * the condition is new or its status changes, and is kept otherwise (reason,
 * message and observedGeneration are updated in place). When nothing changes,
 * the result deep-equals the input, so conditionsEqual tells whether to write.
 */
export function setCondition(conditions: readonly Condition[] | undefined, input: ConditionInput, now: number | Date): Condition[] {
  validateCondition(input);
  const list = conditions ?? [];
  const existing = list.find((c) => c.type === input.type);
  const lastTransitionTime =
    existing !== undefined && existing.status === input.status ? existing.lastTransitionTime : (input.lastTransitionTime ?? formatTime(now));
  const next: Condition = {
    type: input.type,
    status: input.status,
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime,
    reason: input.reason,
    message: input.message,
  };
  if (existing === undefined) return [...list, next];
  return list.map((c) => (c.type === input.type ? next : c));
}

/** Sets several conditions in order. */
export function setConditions(conditions: readonly Condition[] | undefined, inputs: readonly ConditionInput[], now: number | Date): Condition[] {
  let out = [...(conditions ?? [])];
  for (const input of inputs) out = setCondition(out, input, now);
  return out;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/** True when both lists hold the same conditions (by type, in any order) with equal fields. */
export function conditionsEqual(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const la = a ?? [];
  const lb = b ?? [];
  if (la.length !== lb.length) return false;
  const byType = new Map(lb.map((c) => [c.type, c]));
  if (byType.size !== lb.length) return false;
  return la.every((c) => {
    const other = byType.get(c.type);
    return (
      other !== undefined &&
      other.status === c.status &&
      other.reason === c.reason &&
      other.message === c.message &&
      other.lastTransitionTime === c.lastTransitionTime &&
      other.observedGeneration === c.observedGeneration
    );
  });
}

/**
 * Deep equality of JSON values (objects compare by keys regardless of order; a
 * key whose value is undefined counts as absent). Use it on a status before
 * writing: equal means no write.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]));
}
