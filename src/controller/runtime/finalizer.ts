// One shape for a reconciler whose object carries a finalizer, in the spirit of
// kube-rs's finalizer(): the steps every such reconciler took by hand, once.
//
//   being deleted, without our finalizer     → nothing to do
//   its namespace is being deleted           → let the finalizer go at once (nothing is left
//                                              to protect), write nothing else
//   being deleted, with our finalizer        → cleanup(obj); "release" removes the finalizer
//   alive                                    → apply(obj, ensureFinalizer): converge; the
//                                              finalizer is added by ensureFinalizer(), which
//                                              the reconciler calls before the first write it
//                                              must protect (not every object needs one)

import type { KubeObject } from "../../kube/types.ts";
import { Outcome } from "./outcome.ts";

/** A finalizer and the writes that add and remove it. */
export interface FinalizerWrites<T> {
  readonly name: string;
  /** Adds the finalizer (when missing); resolves to the object as written. */
  add(obj: T): Promise<T>;
  /** Removes the finalizer (when present); other finalizers stay. */
  remove(obj: T): Promise<void>;
}

export interface FinalizerSteps<T> {
  /** Whether the object's namespace is being deleted. */
  namespaceTerminating: boolean;
  /** The object is being deleted and still carries the finalizer. "release": the finalizer may go now. */
  cleanup(obj: T): Promise<"release" | Outcome>;
  /** The object lives. `ensureFinalizer` adds the finalizer and returns the object as written. */
  apply(obj: T, ensureFinalizer: () => Promise<T>): Promise<Outcome>;
}

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return (obj.metadata?.finalizers ?? []).includes(finalizer);
}

/** Runs the step that fits the object's life: see the top of this file. */
export async function withFinalizer<T extends KubeObject>(obj: T, finalizer: FinalizerWrites<T>, steps: FinalizerSteps<T>): Promise<Outcome> {
  const deleting = obj.metadata?.deletionTimestamp !== undefined;
  if (deleting && !hasFinalizer(obj, finalizer.name)) return Outcome.done();
  if (steps.namespaceTerminating) {
    if (deleting) await finalizer.remove(obj);
    return Outcome.done();
  }
  if (deleting) {
    const result = await steps.cleanup(obj);
    if (result !== "release") return result;
    await finalizer.remove(obj);
    return Outcome.done();
  }
  return steps.apply(obj, () => finalizer.add(obj));
}
