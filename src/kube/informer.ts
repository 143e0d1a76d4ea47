// An informer: lists one resource, then watches it, keeping a cache and calling
// handlers on add, update and delete. It restarts itself after any error or
// watch end: it resumes the watch from the last resourceVersion it saw, and
// relists when the server answers 410 Gone (that version is compacted away).
// Failures back off exponentially. A periodic resync re-delivers every cached
// object as an update, so level-based reconcilers see everything again.

import { type Clock, sleep, systemClock, type TimerHandle } from "./clock.ts";
import type { KubeClient } from "./client.ts";
import { GoneError } from "./errors.ts";
import { errorFields, silentLogger, type Logger } from "./logger.ts";
import { resourceName, type Resource } from "./resources.ts";
import { objectKey, makeKey, type KubeList, type KubeObject, type WatchEvent } from "./types.ts";

/** Where an informer gets its objects from. `listWatch` builds one over the API. */
export interface ListWatchSource<T extends KubeObject> {
  /** For logs and metrics, e.g. "secrets" or "apikeys.keyward.dev in acme". */
  readonly description: string;
  list(signal: AbortSignal): Promise<KubeList<T>>;
  watch(resourceVersion: string, signal: AbortSignal): AsyncIterable<WatchEvent<T>>;
}

export interface ListWatchOptions {
  /** Only this namespace (default: all namespaces). */
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** Page size of the initial list. Default 500. */
  pageSize?: number;
  /** Server-side watch timeout. Default: random 300–600 s. */
  watchTimeoutSeconds?: number;
  /**
   * Applied to every object listed or watched before it is cached (e.g. drop
   * metadata.managedFields, which a cache never needs and which can be most of an
   * object's size). Must return an object of the same identity (namespace, name,
   * resourceVersion).
   */
  transform?: (obj: KubeObject) => KubeObject;
  /**
   * A selector applied here, for what the API server cannot select on (e.g. the
   * namespaces of a controller shard, chosen by their labels): an object listed
   * or watched for which it returns false is never cached. When its answer
   * changes, call the informer's relist().
   */
  filter?: (obj: KubeObject) => boolean;
}

/** kubectl's copy of the object as last applied (client-side apply). */
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * A transform for ListWatchOptions: drops what records how an object was
 * applied — metadata.managedFields and kubectl's last-applied-configuration
 * annotation, each a copy of much of the object that no cache reader needs.
 */
export function withoutApplyRecords(obj: KubeObject): KubeObject {
  const annotations = obj.metadata?.annotations;
  const lastApplied = annotations !== undefined && LAST_APPLIED in annotations;
  if (obj.metadata?.managedFields === undefined && !lastApplied) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata ?? {};
  if (lastApplied) {
    const { [LAST_APPLIED]: _copy, ...rest } = annotations;
    metadata.annotations = rest;
  }
  return { ...obj, metadata };
}

export function listWatch<T extends KubeObject>(client: KubeClient, resource: Resource, opts: ListWatchOptions = {}): ListWatchSource<T> {
  const selectors = [opts.labelSelector, opts.fieldSelector].filter((s) => s !== undefined && s !== "").join(",");
  const description = `${resourceName(resource)}${opts.namespace !== undefined ? ` in ${opts.namespace}` : ""}${selectors !== "" ? ` (${selectors})` : ""}`;
  const source: ListWatchSource<T> = {
    description,
    list: (signal) =>
      client.listAll<T>(resource, {
        namespace: opts.namespace,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        pageSize: opts.pageSize ?? 500,
        signal,
      }),
    watch: (resourceVersion, signal) =>
      client.watch<T>(resource, {
        namespace: opts.namespace,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion,
        timeoutSeconds: opts.watchTimeoutSeconds,
        signal,
      }),
  };
  return shapedSource(source, opts);
}

/** `source` with the options' transform and filter applied to what it lists and watches. */
export function shapedSource<T extends KubeObject>(source: ListWatchSource<T>, opts: Pick<ListWatchOptions, "transform" | "filter">): ListWatchSource<T> {
  const { description } = source;
  const { transform, filter } = opts;
  if (transform === undefined && filter === undefined) return source;
  const apply = (obj: T): T => (transform === undefined ? obj : (transform(obj) as T));
  const keep = (obj: T): boolean => filter === undefined || filter(obj);
  return {
    description,
    list: async (signal) => {
      const list = await source.list(signal);
      return { ...list, items: list.items.filter(keep).map(apply) };
    },
    watch: async function* (resourceVersion, signal) {
      for await (const ev of source.watch(resourceVersion, signal)) {
        if (ev.type === "BOOKMARK") yield ev;
        else if (keep(ev.object)) yield { type: ev.type, object: apply(ev.object) };
      }
    },
  };
}

export interface InformerHandlers<T> {
  add?(obj: T): void;
  /** Also called on resync, with the same object twice. */
  update?(oldObj: T, newObj: T): void;
  /** Called with the last state the informer knew. */
  delete?(obj: T): void;
}

export interface BackoffOptions {
  /** First delay. Default 500 ms. */
  initialMs?: number;
  /** Ceiling. Default 30 s. */
  maxMs?: number;
  /** Fraction of random extra delay, 0–1. Default 0.2. */
  jitter?: number;
}

export interface InformerOptions {
  /** Re-deliver every cached object this often (0: never). Default 10 minutes. */
  resyncPeriodMs?: number;
  backoff?: BackoffOptions;
  clock?: Clock;
  /** Source of randomness for jitter (tests pass a constant). */
  random?: () => number;
  logger?: Logger;
}

export type RestartReason = "watch-ended" | "gone" | "error";

export interface InformerStats {
  lists: number;
  watches: number;
  /** Restarts by reason. */
  restarts: Record<RestartReason, number>;
  resyncs: number;
}

export type IndexFunc<T> = (obj: T) => readonly string[];

export class Informer<T extends KubeObject = KubeObject> {
  readonly description: string;
  readonly #source: ListWatchSource<T>;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #resyncMs: number;
  readonly #backoff: Required<BackoffOptions>;

  #cache = new Map<string, T>();
  #handlers = new Set<InformerHandlers<T>>();
  #indexes = new Map<string, { fn: IndexFunc<T>; map: Map<string, Set<string>> }>();
  #restartListeners = new Set<(reason: RestartReason, err?: unknown) => void>();
  #synced = false;
  #syncWaiters: Array<(synced: boolean) => void> = [];
  #resourceVersion = "";
  #abort: AbortController | undefined;
  /** Ends the current watch early: relist() asks for a list instead of the watch. */
  #watchAbort: AbortController | undefined;
  #relistWanted = false;
  /** Callers of relist() waiting for a list that begins after their call. */
  #relistWaiters: Array<() => void> = [];
  #running: Promise<void> | undefined;
  #resyncTimer: TimerHandle | undefined;
  #stats: InformerStats = { lists: 0, watches: 0, restarts: { "watch-ended": 0, gone: 0, error: 0 }, resyncs: 0 };

  constructor(source: ListWatchSource<T>, opts: InformerOptions = {}) {
    this.#source = source;
    this.description = source.description;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#log = opts.logger ?? silentLogger;
    this.#resyncMs = opts.resyncPeriodMs ?? 10 * 60_000;
    this.#backoff = { initialMs: opts.backoff?.initialMs ?? 500, maxMs: opts.backoff?.maxMs ?? 30_000, jitter: opts.backoff?.jitter ?? 0.2 };
  }

  /**
   * Registers handlers. If the cache is already synced, every cached object is
   * delivered to `add` at once, so a late handler misses nothing. Returns the
   * function that removes the handlers.
   */
  addHandlers(handlers: InformerHandlers<T>): () => void {
    this.#handlers.add(handlers);
    if (this.#synced && handlers.add !== undefined) {
      for (const obj of this.#cache.values()) this.#call(() => handlers.add?.(obj));
    }
    return () => this.#handlers.delete(handlers);
  }

  /** Adds an index: `byIndex(name, value)` returns the objects whose `fn` yields `value`. */
  addIndex(name: string, fn: IndexFunc<T>): void {
    const map = new Map<string, Set<string>>();
    this.#indexes.set(name, { fn, map });
    for (const [key, obj] of this.#cache) indexAdd(map, fn, key, obj);
  }

  byIndex(name: string, value: string): T[] {
    const index = this.#indexes.get(name);
    if (index === undefined) throw new Error(`informer ${this.description} has no index "${name}"`);
    const keys = index.map.get(value);
    if (keys === undefined) return [];
    const out: T[] = [];
    for (const k of keys) {
      const obj = this.#cache.get(k);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  /** The cached object under "namespace/name" (or "name" for cluster-scoped). */
  get(key: string): T | undefined {
    return this.#cache.get(key);
  }

  getByName(name: string, namespace?: string): T | undefined {
    return this.#cache.get(makeKey(namespace, name));
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.#cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  keys(): string[] {
    return [...this.#cache.keys()];
  }

  get size(): number {
    return this.#cache.size;
  }

  /** True once the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** The resourceVersion the next watch resumes from. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  get stats(): InformerStats {
    return { ...this.#stats, restarts: { ...this.#stats.restarts } };
  }

  /** Calls `listener` on every restart (for metrics and tests). Returns the unsubscribe function. */
  onRestart(listener: (reason: RestartReason, err?: unknown) => void): () => void {
    this.#restartListeners.add(listener);
    return () => this.#restartListeners.delete(listener);
  }

  /** Resolves true once synced, false if the informer stops or `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = (synced: boolean): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve(synced);
      };
      const onAbort = (): void => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== waiter);
        resolve(false);
      };
      this.#syncWaiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  get running(): boolean {
    return this.#running !== undefined;
  }

  /** Starts listing and watching in the background. Idempotent. */
  start(): void {
    if (this.#running !== undefined) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#running = this.#run(abort.signal).catch((err: unknown) => {
      this.#log.error({ informer: this.description, err: errorFields(err) }, "informer loop failed");
    });
    if (this.#synced) this.#scheduleResync();
  }

  /**
   * Lists again soon instead of watching on (what the source selects has changed,
   * e.g. its filter): the list replaces the cache, and what it adds, changes and
   * drops is delivered as add, update and delete events. Several calls before
   * the list runs cost one list; a call during a list costs one more after it.
   * Resolves once a list that began after the call has been applied (at once
   * when the informer is not running: its first list is still to come).
   */
  relist(): Promise<void> {
    if (this.#running === undefined) return Promise.resolve();
    this.#relistWanted = true;
    this.#watchAbort?.abort();
    return new Promise((resolve) => this.#relistWaiters.push(resolve));
  }

  /** Stops the informer; no handler is called once this resolves. The cache is kept. */
  async stop(): Promise<void> {
    const running = this.#running;
    if (running === undefined) return;
    this.#abort?.abort();
    if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    await running;
    this.#running = undefined;
    this.#abort = undefined;
    for (const resolve of this.#relistWaiters.splice(0)) resolve();
    const waiters = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const w of waiters) w(this.#synced);
  }

  async #run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let failures = 0;
    // A function, not the property: the signal changes under awaits.
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      try {
        if (needList) {
          this.#stats.lists++;
          const waiting = this.#relistWaiters;
          this.#relistWaiters = [];
          let list: KubeList<T>;
          try {
            list = await this.#source.list(signal);
          } catch (err) {
            this.#relistWaiters.unshift(...waiting);
            throw err;
          }
          if (stopped()) return;
          this.#replace(list.items);
          for (const resolve of waiting) resolve();
          this.#resourceVersion = list.metadata.resourceVersion ?? "";
          needList = false;
          failures = 0;
          this.#markSynced();
        }
        if (this.#relistWanted) {
          this.#relistWanted = false;
          needList = true;
          continue;
        }
        this.#stats.watches++;
        let received = false;
        const watchAbort = new AbortController();
        this.#watchAbort = watchAbort;
        for await (const ev of this.#source.watch(this.#resourceVersion, AbortSignal.any([signal, watchAbort.signal]))) {
          if (stopped() || watchAbort.signal.aborted) break;
          received = true;
          failures = 0;
          this.#apply(ev);
        }
        this.#watchAbort = undefined;
        if (stopped()) return;
        // Ended by relist(): list now (a method call: the flag changes under the awaits above).
        if (this.#relistRequested()) continue;
        this.#restarted("watch-ended");
        // A watch that delivered something resumes at once; one that ended empty counts as a failure.
        if (!received) await this.#backoffSleep(++failures, signal);
      } catch (err) {
        if (stopped()) return;
        this.#watchAbort = undefined;
        // The watch was ended by relist(): list now.
        if (this.#relistWanted && !needList) continue;
        if (err instanceof GoneError && !needList) {
          // The resourceVersion was compacted: relist now. (A 410 answering the list itself,
          // an expired continue token, backs off below like any failed list.)
          this.#restarted("gone", err);
          this.#log.info({ informer: this.description, resourceVersion: this.#resourceVersion }, "resourceVersion expired, relisting");
          needList = true;
          continue;
        }
        this.#restarted("error", err);
        failures++;
        this.#log.warn({ informer: this.description, err: errorFields(err), failures }, needList ? "list failed, retrying" : "watch failed, resuming");
        await this.#backoffSleep(failures, signal);
      }
    }
  }

  #relistRequested(): boolean {
    return this.#relistWanted;
  }

  #restarted(reason: RestartReason, err?: unknown): void {
    this.#stats.restarts[reason]++;
    for (const l of this.#restartListeners) this.#call(() => { l(reason, err); });
  }

  #backoffSleep(failures: number, signal: AbortSignal): Promise<boolean> {
    const base = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(failures - 1, 30));
    const delay = Math.min(this.#backoff.maxMs, base * (1 + this.#backoff.jitter * this.#random()));
    return sleep(this.#clock, delay, signal);
  }

  #markSynced(): void {
    if (!this.#synced) {
      this.#synced = true;
      const waiters = this.#syncWaiters;
      this.#syncWaiters = [];
      for (const w of waiters) w(true);
      this.#scheduleResync();
    }
  }

  #scheduleResync(): void {
    if (this.#resyncMs <= 0 || this.#abort?.signal.aborted !== false) return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      if (this.#abort?.signal.aborted !== false) return;
      this.#stats.resyncs++;
      for (const obj of [...this.#cache.values()]) {
        for (const h of [...this.#handlers]) if (h.update !== undefined) this.#call(() => h.update?.(obj, obj));
      }
      this.#scheduleResync();
    }, this.#resyncMs);
  }

  /** Loads a full list: adds what is new, updates what changed, deletes what is gone. */
  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.#cache.get(key);
      this.#set(key, obj, old);
      if (old === undefined) this.#emitAdd(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.#emitUpdate(old, obj);
    }
    for (const [key, old] of [...this.#cache]) {
      if (!seen.has(key)) {
        this.#remove(key, old);
        this.#emitDelete(old);
      }
    }
  }

  #apply(ev: WatchEvent<T>): void {
    const rv = ev.object.metadata?.resourceVersion;
    if (rv !== undefined && rv !== "") this.#resourceVersion = rv;
    if (ev.type === "BOOKMARK") return;
    const obj = ev.object;
    const key = objectKey(obj);
    const old = this.#cache.get(key);
    if (ev.type === "DELETED") {
      if (old !== undefined) this.#remove(key, old);
      this.#emitDelete(obj);
      return;
    }
    this.#set(key, obj, old);
    if (old === undefined) this.#emitAdd(obj);
    else this.#emitUpdate(old, obj);
  }

  #set(key: string, obj: T, old: T | undefined): void {
    for (const { fn, map } of this.#indexes.values()) {
      if (old !== undefined) indexRemove(map, fn, key, old);
      indexAdd(map, fn, key, obj);
    }
    this.#cache.set(key, obj);
  }

  #remove(key: string, old: T): void {
    for (const { fn, map } of this.#indexes.values()) indexRemove(map, fn, key, old);
    this.#cache.delete(key);
  }

  #emitAdd(obj: T): void {
    for (const h of [...this.#handlers]) if (h.add !== undefined) this.#call(() => h.add?.(obj));
  }

  #emitUpdate(old: T, obj: T): void {
    for (const h of [...this.#handlers]) if (h.update !== undefined) this.#call(() => h.update?.(old, obj));
  }

  #emitDelete(obj: T): void {
    for (const h of [...this.#handlers]) if (h.delete !== undefined) this.#call(() => h.delete?.(obj));
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ informer: this.description, err: errorFields(err) }, "informer handler threw");
    }
  }
}

/** An informer over the API for one resource. */
export function createInformer<T extends KubeObject = KubeObject>(
  client: KubeClient,
  resource: Resource,
  opts: ListWatchOptions & InformerOptions = {},
): Informer<T> {
  return new Informer<T>(listWatch<T>(client, resource, opts), opts);
}

function indexAdd<T>(map: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T): void {
  for (const value of fn(obj)) {
    let set = map.get(value);
    if (set === undefined) map.set(value, (set = new Set()));
    set.add(key);
  }
}

function indexRemove<T>(map: Map<string, Set<string>>, fn: IndexFunc<T>, key: string, obj: T): void {
  for (const value of fn(obj)) {
    const set = map.get(value);
    if (set === undefined) continue;
    set.delete(key);
    if (set.size === 0) map.delete(value);
  }
}
