// A controller shard: the tenant namespaces whose labels match the shard's
// selector (--shard-selector). Several controller Deployments, each with its own
// selector and its own Lease, divide the tenants between them.
//
// The shard's Namespace informer selects on the labels (in the API server); every
// namespaced informer of the controller keeps only the objects of owned
// namespaces (a client-side filter: the API server cannot select objects by
// their namespace's labels) and lists again when a namespace arrives or leaves.
// The caches answer for shown namespaces only: a shard stops acting on a
// namespace as soon as its Namespace informer sees it leave, and the new owner
// starts once its own informer sees it arrive and every informer has listed the
// namespace's objects (never from half a tenant); then its objects are queued.
// For a moment both may act on it: every write is a create (refused if the object
// exists) or is guarded by the resourceVersion read, so the second writer's write
// fails and it plans again from the newer state, or, once it has seen the
// namespace leave, not at all. What must survive the move is in the API, not in
// memory: a deleted AccessToken's revocations wait in its token Secret's
// finalizer, which the namespace's owner of the moment lets go once its bundle
// lists them.

import type { Informer } from "../../kube/informer.ts";
import type { KubeObject } from "../../kube/types.ts";
import type { NamespaceObject } from "./namespaces.ts";

export class NamespaceShard {
  readonly selector: string;
  readonly #namespaces: Informer<NamespaceObject>;
  readonly #informers: Informer[] = [];
  /** Owned namespaces whose objects the informers may still be listing: not shown yet. */
  readonly #arriving = new Set<string>();
  readonly #listeners = new Set<(namespace: string) => void>();

  /** `namespaces`: an informer of the Namespaces whose labels match `selector`. */
  constructor(namespaces: Informer<NamespaceObject>, selector: string) {
    this.selector = selector;
    this.#namespaces = namespaces;
    namespaces.addHandlers({
      add: (ns) => { this.#arrived(ns.metadata?.name); },
      delete: (ns) => { this.#left(ns.metadata?.name); },
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

  /** Whether `namespace` is this shard's (its objects are let into the caches); nothing is, until the Namespace informer has listed. */
  owns(namespace: string | undefined): boolean {
    return namespace !== undefined && namespace !== "" && this.#namespaces.get(namespace) !== undefined;
  }

  /**
   * Whether reconcilers see the objects of `namespace`: owned, and every informer
   * has listed since it arrived, so a reconcile never plans from half of a
   * tenant (ApiKeys without their signing-key Secrets would empty its bundle).
   */
  shows(namespace: string): boolean {
    return this.owns(namespace) && !this.#arriving.has(namespace);
  }

  /** The informer filter: an object of an owned namespace, or a cluster-scoped one. */
  readonly keeps = (obj: KubeObject): boolean => {
    const namespace = obj.metadata?.namespace;
    return namespace === undefined || namespace === "" || this.owns(namespace);
  };

  /** Informers that list again whenever the shard's namespaces change. */
  track(informers: readonly Informer[]): void {
    this.#informers.push(...informers);
  }

  /** Calls `fn` with each namespace once reconcilers see it (it arrived and every informer has listed it). */
  onShown(fn: (namespace: string) => void): void {
    this.#listeners.add(fn);
  }

  #arrived(name: string | undefined): void {
    if (name === undefined) return;
    this.#arriving.add(name);
    void Promise.all(this.#informers.map((i) => i.relist())).then(() => {
      if (!this.#arriving.delete(name) || !this.owns(name)) return;
      for (const fn of this.#listeners) fn(name);
    });
  }

  #left(name: string | undefined): void {
    if (name === undefined) return;
    this.#arriving.delete(name);
    for (const informer of this.#informers) void informer.relist();
  }
}
