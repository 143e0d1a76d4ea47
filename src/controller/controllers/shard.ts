// A controller shard: the tenant namespaces whose labels match the shard's
// selector (--shard-selector). Several controller Deployments, each with its own
// selector and its own Lease, divide the tenants between them.
//
// The shard's Namespace informer selects on the labels (in the API server); every
// namespaced informer of the controller keeps only the objects of owned
// namespaces (a client-side filter: the API server cannot select objects by
// their namespace's labels) and lists again when a namespace arrives or leaves.
// The caches answer for owned namespaces only, so a shard stops acting on a
// namespace as soon as its Namespace informer sees it leave, and the new owner
// starts once its own informer sees it arrive. For a moment both may act on it:
// every write is a create (refused if the object exists) or is guarded by the
// resourceVersion read, so the second writer's write fails and it plans again
// from the newer state, or, once it has seen the namespace leave, not at all. What
// must survive the move is in the API, not in memory: a deleted AccessToken's
// revocations wait in its token Secret's finalizer, which the namespace's owner
// of the moment lets go once its bundle lists them.

import type { Informer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { NamespaceObject } from "./namespaces.ts";

export class NamespaceShard {
  readonly selector: string;
  readonly #namespaces: Informer<NamespaceObject>;
  readonly #listeners = new Set<(namespace: string) => void>();

  /** `namespaces`: an informer of the Namespaces whose labels match `selector`. */
  constructor(namespaces: Informer<NamespaceObject>, selector: string) {
    this.selector = selector;
    this.#namespaces = namespaces;
    namespaces.addHandlers({
      add: (ns) => { this.#changed(ns); },
      delete: (ns) => { this.#changed(ns); },
    });
  }

  /** The Namespace informer of the shard (it also tells which of its namespaces are being deleted). */
  get informer(): Informer<NamespaceObject> {
    return this.#namespaces;
  }

  /** Starts the Namespace informer and resolves once it has listed: before the other informers, so each lists once. */
  async start(): Promise<void> {
    this.#namespaces.start();
    await this.#namespaces.waitForSync();
  }

  /** Whether `namespace` is this shard's; nothing is, until the Namespace informer has listed. */
  owns(namespace: string | undefined): boolean {
    return namespace !== undefined && namespace !== "" && this.#namespaces.get(namespace) !== undefined;
  }

  /** The informer filter: an object of an owned namespace, or a cluster-scoped one. */
  readonly keeps = (obj: KubeObject): boolean => {
    const namespace = obj.metadata?.namespace;
    return namespace === undefined || namespace === "" || this.owns(namespace);
  };

  /** Calls `fn` with each namespace that arrives in or leaves the shard. */
  onChange(fn: (namespace: string) => void): void {
    this.#listeners.add(fn);
  }

  /** Makes every informer of `informers` list again whenever the shard changes. */
  relistOnChange(informers: readonly Informer[]): void {
    this.onChange(() => {
      for (const informer of informers) informer.relist();
    });
  }

  #changed(ns: NamespaceObject): void {
    const name = ns.metadata?.name;
    if (name === undefined) return;
    for (const fn of this.#listeners) fn(name);
  }
}
