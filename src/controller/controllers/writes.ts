// The controller's writes, each followed by a wait until the cache shows it:
// finalizers (merge patch guarded by resourceVersion; only our own finalizer is
// added or removed), status (a merge patch at the resourceVersion read of the
// fields its one writer owns, only when they differ), and the Secrets and
// ConfigMaps it owns (create, or replace at the resourceVersion read).

import { isAlreadyExists, isNotFound } from "../../kube/errors.ts";
import type { Resource } from "../../kube/resources.ts";
import { objectKey, type KubeObject, type ObjectMeta } from "../../kube/types.ts";
import { conditionsEqual, jsonEqual, type Condition } from "../../model/conditions.ts";
import { KEYWARD_PREFIX } from "../../model/names.ts";
import { hasFinalizer, type FinalizerWrites } from "../runtime/finalizer.ts";
import { FieldManagers, type ControllerContext } from "./context.ts";
import type { Store } from "./store.ts";

interface Named extends KubeObject {
  metadata?: ObjectMeta;
}

function ref(obj: Named): { namespace: string | undefined; name: string } {
  return { namespace: obj.metadata?.namespace, name: obj.metadata?.name ?? "" };
}

/** The finalizer `name` on objects of `resource`, written as below: for the runtime's withFinalizer. */
export function finalizerWrites<T extends Named>(ctx: ControllerContext, resource: Resource, store: Store<T>, name: string): FinalizerWrites<T> {
  return {
    name,
    add: (obj) => addFinalizer(ctx, resource, store, obj, name),
    remove: (obj) => removeFinalizer(ctx, resource, store, obj, name),
  };
}

/** Adds `finalizer` (if missing) and returns the object as written. */
export async function addFinalizer<T extends Named>(ctx: ControllerContext, resource: Resource, store: Store<T>, obj: T, finalizer: string): Promise<T> {
  if (hasFinalizer(obj, finalizer)) return obj;
  const finalizers = [...(obj.metadata?.finalizers ?? []), finalizer];
  const written = await ctx.client.mergePatch<T>(resource, ref(obj), { metadata: { finalizers } }, {
    resourceVersion: obj.metadata?.resourceVersion,
    fieldManager: FieldManagers.controller,
  });
  await store.waitFor(objectKey(obj), written.metadata?.resourceVersion ?? null);
  return written;
}

/** Removes `finalizer` (if present). Other finalizers stay as they are. */
export async function removeFinalizer<T extends Named>(ctx: ControllerContext, resource: Resource, store: Store<T>, obj: T, finalizer: string): Promise<void> {
  if (!hasFinalizer(obj, finalizer)) return;
  const finalizers = (obj.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
  try {
    const written = await ctx.client.mergePatch<T>(resource, ref(obj), { metadata: { finalizers: finalizers.length === 0 ? null : finalizers } }, {
      resourceVersion: obj.metadata?.resourceVersion,
      fieldManager: FieldManagers.controller,
    });
    // With no finalizer left, the object is gone once the API server has seen the patch.
    await store.waitFor(objectKey(obj), finalizers.length === 0 && obj.metadata?.deletionTimestamp !== undefined ? null : (written.metadata?.resourceVersion ?? null));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * The status fields one reconciler owns: plain fields, and the conditions of
 * some types (the conditions list is a map keyed by type, so several field
 * managers can each own their own entries).
 */
export interface StatusPart {
  fields: Record<string, unknown>;
  /** The condition types this writer owns. */
  conditionTypes: readonly string[];
  conditions: Condition[];
}

/** Whether the current status already says what `part` says. */
export function statusHolds(current: Record<string, unknown> | undefined, part: StatusPart): boolean {
  const status = current ?? {};
  for (const [field, value] of Object.entries(part.fields)) {
    if (!jsonEqual(status[field], value)) return false;
  }
  const existing = ((status.conditions ?? []) as Condition[]).filter((c) => part.conditionTypes.includes(c.type));
  const wanted = part.conditions.filter((c) => part.conditionTypes.includes(c.type));
  return conditionsEqual(existing, wanted);
}

/**
 * Writes `part` through the status subresource unless the status already holds
 * it: a merge patch guarded by resourceVersion that sets every field of the part
 * (null removes one) and the whole conditions list (none when the writer owns no
 * condition type). Each kind's status has one writer (FieldManagers), so a
 * concurrent change makes the reconcile retry from the newer object instead of
 * overwriting it. Returns whether it wrote.
 */
export async function writeStatus<T extends Named & { status?: object }>(
  ctx: ControllerContext,
  resource: Resource,
  store: Store<T>,
  obj: T,
  part: StatusPart,
  fieldManager: string,
): Promise<boolean> {
  if (statusHolds(obj.status as Record<string, unknown> | undefined, part)) return false;
  const conditions = part.conditions.filter((c) => part.conditionTypes.includes(c.type));
  const fields: Record<string, unknown> = {};
  const current = (obj.status ?? {}) as Record<string, unknown>;
  for (const [field, value] of Object.entries(part.fields)) fields[field] = replacing(current[field], value);
  try {
    // A writer that owns no condition type leaves the list alone.
    const patch = part.conditionTypes.length === 0 ? fields : { ...fields, conditions };
    const written = await ctx.client.mergePatchStatus(resource, ref(obj), { status: patch }, {
      resourceVersion: obj.metadata?.resourceVersion,
      fieldManager,
    });
    await store.waitFor(objectKey(obj), written.metadata?.resourceVersion ?? null);
  } catch (err) {
    // The object went away meanwhile: nothing to report on.
    if (isNotFound(err)) return false;
    throw err;
  }
  return true;
}

/**
 * A merge patch value that makes the field equal `value`: a merge patch merges objects, so a
 * key the current object has and `value` lacks must be sent as null to go (a new
 * status.revocation must not keep the enforcedAt of the one before).
 */
export function replacing(current: unknown, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || Array.isArray(value) || current === null || typeof current !== "object" || Array.isArray(current)) return value;
  const out: Record<string, unknown> = {};
  const now = value as Record<string, unknown>;
  for (const k of Object.keys(current)) if (now[k] === undefined) out[k] = null;
  for (const [k, v] of Object.entries(now)) if (v !== undefined) out[k] = replacing((current as Record<string, unknown>)[k], v);
  return out;
}

/** Objects whose data the controller owns outright: Secrets and ConfigMaps. */
export interface OwnedObject extends Named {
  type?: string;
  data?: Record<string, string>;
}

/** Annotations and labels under this prefix are the controller's: a replace sets them exactly. */
const OWN_PREFIX = KEYWARD_PREFIX;

/**
 * Creates `desired`, or replaces `current` with it (at current's
 * resourceVersion), keeping labels and annotations others added. Returns the
 * written object. When the cache did not know an object that exists, throws the
 * AlreadyExistsError: the caller reads it and decides.
 */
export async function upsert<T extends OwnedObject>(ctx: ControllerContext, resource: Resource, store: Store<T>, desired: T, current: T | null): Promise<T> {
  let written: T;
  if (current === null) {
    written = await ctx.client.create<T>(resource, desired, { fieldManager: FieldManagers.controller });
  } else {
    const keep = (m: Record<string, string> | undefined): Record<string, string> =>
      Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !k.startsWith(OWN_PREFIX)));
    const labels = { ...keep(current.metadata?.labels), ...(desired.metadata?.labels ?? {}) };
    const annotations = { ...keep(current.metadata?.annotations), ...(desired.metadata?.annotations ?? {}) };
    const metadata: ObjectMeta = {
      ...(desired.metadata ?? {}),
      resourceVersion: current.metadata?.resourceVersion ?? "",
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    };
    // Finalizers others added stay; the controller's own (in `desired`) are added.
    const finalizers = [...new Set([...(current.metadata?.finalizers ?? []), ...(desired.metadata?.finalizers ?? [])])];
    if (finalizers.length > 0) metadata.finalizers = finalizers;
    else delete metadata.finalizers;
    written = await ctx.client.replace<T>(resource, { ...desired, metadata }, { fieldManager: FieldManagers.controller });
  }
  await store.waitFor(objectKey(desired), written.metadata?.resourceVersion ?? null);
  return written;
}

/** Reads an object the cache does not have (a create answered AlreadyExists). */
export async function readLive<T extends Named>(ctx: ControllerContext, resource: Resource, namespace: string, name: string): Promise<T | null> {
  return (await ctx.client.find<T>(resource, { namespace, name })) ?? null;
}

export { hasFinalizer, isAlreadyExists };
