// A read view over the informers of one resource: one informer for all
// namespaces, or one per watched namespace. Reconcilers read only from here
// (never from the API), and after each of their own writes they wait until the
// cache shows it, so the next reconcile never plans from a state older than
// what it wrote itself.

import type { Clock } from "../../kube/clock.ts";
import type { Informer, IndexFunc } from "../../kube/informer.ts";
import { makeKey, objectKey, parseKey, type KubeObject } from "../../kube/types.ts";
import type { WatchEventKind, WatchSpec } from "../runtime/controller.ts";

/** The index every Store keeps: objects by namespace, so listing a tenant costs its own objects, not all. */
const NAMESPACE_INDEX = "keyward.dev/namespace";

/** How long a reconcile waits for the cache to show its own write before it goes on regardless. */
export const CACHE_WAIT_MS = 10_000;

interface Waiter {
  /** The resourceVersion the cache must reach; null: the object must be gone. */
  resourceVersion: string | null;
  resolve: () => void;
}

export class Store<T extends KubeObject> {
  readonly #all: Informer<T> | undefined;
  readonly #byNamespace: ReadonlyMap<string, Informer<T>>;
  readonly #clock: Clock;
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** Whether objects of a namespace are this controller's (a shard's); undefined: all are. */
  readonly #owns: ((namespace: string) => boolean) | undefined;

  /**
   * `informers`: a single informer over all namespaces (key ""), or one per namespace.
   * `owns`: with a controller shard, the namespaces it owns; the objects of any other
   * namespace are not shown, even while an informer still holds them.
   */
  constructor(informers: ReadonlyMap<string, Informer<T>>, clock: Clock, owns?: (namespace: string) => boolean) {
    this.#all = informers.get("");
    this.#byNamespace = informers;
    this.#clock = clock;
    this.#owns = owns;
    for (const inf of informers.values()) {
      inf.addIndex(NAMESPACE_INDEX, (obj) => [obj.metadata?.namespace ?? ""]);
      inf.addHandlers({
        add: (obj) => { this.#notify(obj, false); },
        update: (_old, obj) => { this.#notify(obj, false); },
        delete: (obj) => { this.#notify(obj, true); },
      });
    }
  }

  get informers(): Informer<T>[] {
    return [...this.#byNamespace.values()];
  }

  #informerFor(namespace: string | undefined): Informer<T> | undefined {
    return this.#all ?? (namespace === undefined ? undefined : this.#byNamespace.get(namespace));
  }

  /**
   * Whether objects of `namespace` are watched at all, and shown: a namespace another
   * shard owns is not this controller's to judge (what it does not show, it cannot know).
   */
  watches(namespace: string): boolean {
    return this.#informerFor(namespace) !== undefined && this.#shown(namespace);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    if (!this.#shown(namespace)) return undefined;
    return this.#informerFor(namespace)?.get(makeKey(namespace, name));
  }

  /** Whether objects of `namespace` are shown: every one without a shard; a cluster-scoped one always. */
  #shown(namespace: string | undefined): boolean {
    return this.#owns === undefined || namespace === undefined || namespace === "" || this.#owns(namespace);
  }

  #visible = (obj: T): boolean => this.#shown(obj.metadata?.namespace);

  getKey(key: string): T | undefined {
    const { namespace, name } = parseKey(key);
    return this.get(namespace, name);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.#shown(namespace) ? (this.#informerFor(namespace)?.byIndex(NAMESPACE_INDEX, namespace) ?? []) : [];
    const all = this.informers.flatMap((inf) => inf.list());
    return this.#owns === undefined ? all : all.filter(this.#visible);
  }

  /** The namespaces that have at least one cached object. */
  namespaces(): string[] {
    const out = new Set<string>();
    for (const obj of this.list()) {
      const ns = obj.metadata?.namespace;
      if (ns !== undefined) out.add(ns);
    }
    return [...out];
  }

  addIndex(name: string, fn: IndexFunc<T>): void {
    for (const inf of this.#byNamespace.values()) inf.addIndex(name, fn);
  }

  byIndex(name: string, value: string): T[] {
    const found = this.informers.flatMap((inf) => inf.byIndex(name, value));
    return this.#owns === undefined ? found : found.filter(this.#visible);
  }

  /** One watch per informer, with the same mapping and filter. */
  watchSpecs(map?: (obj: T) => Iterable<string>, filter?: (kind: WatchEventKind, obj: T, old?: T) => boolean): WatchSpec[] {
    return this.informers.map((informer) => {
      const spec: WatchSpec<T> = { informer };
      if (map !== undefined) spec.map = map;
      if (filter !== undefined) spec.filter = filter;
      return spec as unknown as WatchSpec;
    });
  }

  /**
   * Resolves once the cache holds the object `key` at `resourceVersion` or later
   * (null: once it is gone), or after CACHE_WAIT_MS at the latest.
   */
  waitFor(key: string, resourceVersion: string | null): Promise<void> {
    if (this.#reached(this.getKey(key), resourceVersion)) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (set === undefined) this.#waiters.set(key, (set = new Set()));
      const waiters = set;
      const waiter: Waiter = {
        resourceVersion,
        resolve: () => {
          this.#clock.clearTimeout(timer);
          waiters.delete(waiter);
          if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
          resolve();
        },
      };
      const timer = this.#clock.setTimeout(() => { waiter.resolve(); }, CACHE_WAIT_MS);
      waiters.add(waiter);
    });
  }

  #notify(obj: T, deleted: boolean): void {
    const key = objectKey(obj);
    const waiters = this.#waiters.get(key);
    if (waiters === undefined) return;
    for (const w of [...waiters]) {
      if (deleted ? w.resourceVersion === null || newerOrSame(obj.metadata?.resourceVersion, w.resourceVersion) : this.#reached(obj, w.resourceVersion)) {
        w.resolve();
      }
    }
  }

  #reached(obj: T | undefined, resourceVersion: string | null): boolean {
    if (resourceVersion === null) return obj === undefined;
    return obj !== undefined && newerOrSame(obj.metadata?.resourceVersion, resourceVersion);
  }
}

/**
 * Whether resourceVersion `a` is `b` or later. resourceVersions are opaque to
 * clients, but every API server keyward supports issues etcd revisions (decimal
 * integers), and an informer sees them in increasing order; anything else only
 * counts when equal.
 */
export function newerOrSame(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  if (a === b) return true;
  if (/^\d{1,30}$/.test(a) && /^\d{1,30}$/.test(b)) return BigInt(a) >= BigInt(b);
  return false;
}
