// The tenant namespaces as the controller sees them: whether one is being
// deleted. While a namespace terminates, the namespace controller deletes its
// bundle ConfigMap and the API server refuses new objects in it, so no bundle can
// be written there again and no verifier of the tenant is left to protect. The
// reconcilers then let their finalizers go without waiting for a bundle, and mint
// no key, issue no token and write no bundle there.
//
// A Namespace informer (list and watch on namespaces) tells them before they
// write. A create the API server refuses with the cause NamespaceTerminating
// tells them too, when that informer has not caught up yet; the informer's update
// then wakes every object of the namespace.

import { isNamespaceTerminating } from "../../kube/errors.ts";
import type { Informer } from "../../kube/informer.ts";
import type { Logger } from "../../kube/logger.ts";
import { objectKey, type KubeObject } from "../../kube/types.ts";
import type { WatchSpec } from "../runtime/controller.ts";

/** A Namespace; the controller reads its metadata (deletionTimestamp) only. */
export interface NamespaceObject extends KubeObject {
  status?: { phase?: string };
}

export class TenantNamespaces {
  readonly #all: Informer<NamespaceObject> | undefined;
  readonly #byName: ReadonlyMap<string, Informer<NamespaceObject>>;

  /**
   * `informers`: one informer over every namespace (key ""), or one per watched
   * namespace (keyed by its name, each selecting `metadata.name=<name>`).
   */
  constructor(informers: ReadonlyMap<string, Informer<NamespaceObject>>) {
    this.#all = informers.get("");
    this.#byName = informers;
  }

  get informers(): Informer<NamespaceObject>[] {
    return [...this.#byName.values()];
  }

  /** The cached Namespace `name`, if any. */
  get(name: string): NamespaceObject | undefined {
    return (this.#all ?? this.#byName.get(name))?.get(name);
  }

  /**
   * Whether `obj` lives in a namespace that is being deleted (its
   * deletionTimestamp is set). An object created after that deletion began is in
   * a namespace of the same name created since (the cache has not seen the old
   * one go yet): that one is not being deleted.
   */
  terminating(obj: KubeObject): boolean {
    const namespace = obj.metadata?.namespace;
    if (namespace === undefined || namespace === "") return false;
    const deleted = this.get(namespace)?.metadata?.deletionTimestamp;
    if (deleted === undefined) return false;
    const created = obj.metadata?.creationTimestamp;
    return created === undefined || !(Date.parse(created) > Date.parse(deleted));
  }

  /** Whether every object of `objects` (a tenant's) is in a namespace being deleted; false when the namespace is not. */
  tenantTerminating(namespace: string, objects: readonly KubeObject[]): boolean {
    if (this.get(namespace)?.metadata?.deletionTimestamp === undefined) return false;
    return objects.every((o) => this.terminating(o));
  }

  /**
   * Watches that map a namespace to keys (`map`) when its deletion begins, and
   * when it is gone (a namespace of the same name may exist by then).
   */
  watchDeletion(map: (namespace: string) => Iterable<string>): WatchSpec[] {
    return this.informers.map(
      (informer): WatchSpec<NamespaceObject> => ({
        informer,
        map: (ns) => map(objectKey(ns)),
        filter: (kind, ns, old) =>
          kind === "delete" ||
          (ns.metadata?.deletionTimestamp !== undefined && (kind === "add" || old === undefined || old.metadata?.deletionTimestamp === undefined)),
      }),
    );
  }
}

/**
 * Whether `err` is a create the API server refused because `namespace` is being
 * deleted. Logs it (it is not a failure: the reconcile ends, and the Namespace
 * informer's update wakes the objects of the namespace again).
 */
export function refusedInTerminatingNamespace(log: Logger, err: unknown, controller: string, namespace: string): boolean {
  if (!isNamespaceTerminating(err)) return false;
  log.debug({ controller, namespace }, "namespace is being deleted: nothing is created there");
  return true;
}
