// A controller: one reconcile function, the informers whose changes trigger it,
// mapping functions from a changed object to the keys to reconcile, a work
// queue and N workers. The contract follows controller-runtime and kube-rs:
//
//   reconcile(key) → Outcome                   level-based: read current state, converge
//                    (done | requeue after | back off; outcome.ts), or throw
//   errorPolicy(key, error) → { requeueAfter? } | "backoff"
//                    for a throw; a TerminalError is never requeued
//
// A key is "namespace/name" (or "name" for a cluster-scoped object).

import { type Clock, systemClock } from "../../kube/clock.ts";
import type { Informer, InformerHandlers } from "../../kube/informer.ts";
import { errorFields, silentLogger, type Logger } from "../../kube/logger.ts";
import { makeKey, objectKey, type KubeObject } from "../../kube/types.ts";
import { Outcome, TerminalError } from "./outcome.ts";
import { WorkQueue, type QueueBackoff } from "./queue.ts";

export type ErrorPolicyResult = { requeueAfter?: number } | "backoff";

export interface ReconcileContext {
  /** Aborted when the controller stops because leadership was lost. */
  signal: AbortSignal;
  /** Failures of this key since its last success. */
  attempt: number;
}

/** Resolving with nothing is Outcome.done() (a function with no return statement fits). */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- Promise<void> is what such a function returns
export type ReconcileFunc = (key: string, ctx: ReconcileContext) => Promise<Outcome | undefined | void>;

export type MapFunc<T> = (obj: T) => Iterable<string>;

export type WatchEventKind = "add" | "update" | "delete";

export interface WatchSpec<T extends KubeObject = KubeObject> {
  informer: Informer<T>;
  /** Keys to reconcile when an object changes. Default: the object's own key. On update, both old and new are mapped. */
  map?(obj: T): Iterable<string>;
  /** Drops events that need no reconcile (e.g. an update that changed only status). Default: keep all. */
  filter?(kind: WatchEventKind, obj: T, old?: T): boolean;
}

/** How a reconcile ended, as metrics label it: converged or scheduled, backing off, or failed. */
export type ReconcileResultLabel = "success" | "backoff" | "error";

/** Observes reconciles; RuntimeMetrics implements it. */
export interface ControllerObserver {
  reconciled(controller: string, outcome: ReconcileResultLabel, seconds: number): void;
}

export interface ControllerOptions {
  /** Names the controller in logs and metrics, e.g. "apikey". */
  name: string;
  reconcile: ReconcileFunc;
  /** What to do after a failed reconcile. Default "backoff" (per-key exponential). */
  errorPolicy?: (key: string, error: unknown) => ErrorPolicyResult;
  /**
   * The informers whose changes trigger reconciles. A spec over a narrower
   * object type (Informer<ApiKey> with map(k: ApiKey)) fits here as it is.
   */
  watches: readonly WatchSpec[];
  /** Keys reconciled each time the controller starts, watch events or not (a singleton such as the keyring). */
  initialKeys?: () => readonly string[];
  /** Keys reconciled at once (never the same key twice). Default 1. */
  workers?: number;
  backoff?: QueueBackoff;
  clock?: Clock;
  logger?: Logger;
  observer?: ControllerObserver;
}

export interface StopOptions {
  /** Abort the signal of in-flight reconciles (leadership lost). Default false: let them finish. */
  abort?: boolean;
}

export class Controller {
  readonly name: string;
  readonly #opts: ControllerOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  #queue: WorkQueue | undefined;
  #abort: AbortController | undefined;
  #workers: Array<Promise<void>> = [];
  #unsubscribe: Array<() => void> = [];
  #stopping: Promise<void> | undefined;

  constructor(opts: ControllerOptions) {
    if (opts.watches.length === 0) throw new Error(`controller ${opts.name}: at least one watch is needed`);
    const workers = opts.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`controller ${opts.name}: workers must be a positive integer, got ${workers}`);
    this.name = opts.name;
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.logger ?? silentLogger;
  }

  get running(): boolean {
    return this.#queue !== undefined && this.#stopping === undefined;
  }

  /** The queue of the current run (undefined while stopped). */
  get queue(): WorkQueue | undefined {
    return this.#queue;
  }

  /**
   * Starts the workers with a fresh queue and subscribes to the informers. Every
   * object already cached is delivered as an add, so each one is reconciled.
   */
  start(): void {
    if (this.#queue !== undefined) return;
    const queue = new WorkQueue<string>({ clock: this.#clock, backoff: this.#opts.backoff });
    const abort = new AbortController();
    this.#queue = queue;
    this.#abort = abort;
    for (const w of this.#opts.watches) this.#unsubscribe.push(w.informer.addHandlers(this.#handlersFor(w, queue)));
    const n = this.#opts.workers ?? 1;
    for (const key of this.#opts.initialKeys?.() ?? []) queue.add(key);
    this.#workers = Array.from({ length: n }, () => this.#work(queue, abort.signal));
    this.#log.info({ controller: this.name, workers: n }, "controller started");
  }

  /** Reconciles `key` soon (outside of any watch event). */
  enqueue(key: string): void {
    this.#queue?.add(key);
  }

  /**
   * Stops taking events and new keys, and resolves once the in-flight reconciles
   * have finished. Queued keys are dropped: the next start relists them anyway.
   */
  stop(opts: StopOptions = {}): Promise<void> {
    const queue = this.#queue;
    if (queue === undefined) return Promise.resolve();
    if (opts.abort === true) this.#abort?.abort();
    this.#stopping ??= (async () => {
      for (const unsub of this.#unsubscribe) unsub();
      this.#unsubscribe = [];
      await queue.shutDown();
      await Promise.all(this.#workers);
      this.#workers = [];
      this.#queue = undefined;
      this.#abort = undefined;
      this.#stopping = undefined;
      this.#log.info({ controller: this.name }, "controller stopped");
    })();
    return this.#stopping;
  }

  #handlersFor<T extends KubeObject>(w: WatchSpec<T>, queue: WorkQueue): InformerHandlers<T> {
    const map = (obj: T): Iterable<string> => (w.map === undefined ? [objectKey(obj)] : w.map(obj));
    const keep = (kind: WatchEventKind, obj: T, old?: T): boolean => w.filter === undefined || w.filter(kind, obj, old);
    const enqueue = (objs: T[]): void => {
      const keys = new Set<string>();
      for (const obj of objs) for (const key of map(obj)) keys.add(key);
      for (const key of keys) queue.add(key);
    };
    return {
      add: (obj) => {
        if (keep("add", obj)) enqueue([obj]);
      },
      update: (old, obj) => {
        if (keep("update", obj, old)) enqueue(old === obj ? [obj] : [old, obj]);
      },
      delete: (obj) => {
        if (keep("delete", obj)) enqueue([obj]);
      },
    };
  }

  async #work(queue: WorkQueue, signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = this.#clock.now();
      try {
        const outcome = (await this.#opts.reconcile(key, { signal, attempt: queue.numRequeues(key) })) ?? Outcome.done();
        const seconds = (this.#clock.now() - started) / 1000;
        if (outcome.action === "backoff") {
          const delay = queue.addRateLimited(key);
          this.#opts.observer?.reconciled(this.name, "backoff", seconds);
          this.#log.info({ controller: this.name, key, reason: outcome.reason, retryInMs: delay }, "reconcile backing off");
          continue;
        }
        queue.forget(key);
        this.#opts.observer?.reconciled(this.name, "success", seconds);
        if (outcome.action === "requeue") queue.addAfter(key, outcome.afterMs);
      } catch (err) {
        this.#opts.observer?.reconciled(this.name, "error", (this.#clock.now() - started) / 1000);
        this.#onError(queue, key, err);
      } finally {
        queue.done(key);
      }
    }
  }

  #onError(queue: WorkQueue, key: string, err: unknown): void {
    if (err instanceof TerminalError) {
      queue.forget(key);
      this.#log.error({ controller: this.name, key, err: errorFields(err) }, "reconcile failed for good; waiting for a change");
      return;
    }
    let policy: ErrorPolicyResult = "backoff";
    if (this.#opts.errorPolicy !== undefined) {
      try {
        policy = this.#opts.errorPolicy(key, err);
      } catch (policyErr) {
        this.#log.error({ controller: this.name, key, err: errorFields(policyErr) }, "error policy threw; backing off");
      }
    }
    if (policy === "backoff") {
      const delay = queue.addRateLimited(key);
      this.#log.warn({ controller: this.name, key, err: errorFields(err), retryInMs: delay }, "reconcile failed");
      return;
    }
    queue.forget(key);
    const after = policy.requeueAfter;
    if (after !== undefined && after > 0) queue.addAfter(key, after);
    this.#log.warn({ controller: this.name, key, err: errorFields(err), retryInMs: after ?? null }, "reconcile failed");
  }
}

// ---- mapping functions -------------------------------------------------------

/** Maps an object to its own key (the default). */
export function ownKey(obj: KubeObject): string[] {
  return [objectKey(obj)];
}

/**
 * Maps an object to its owners of one kind (e.g. a Secret to the ApiKey that
 * owns it). Owners live in the object's namespace. With `controllerOnly`, only
 * the owner reference marked controller counts.
 */
export function mapToOwner(owner: { group: string; kind: string }, opts: { controllerOnly?: boolean } = {}): MapFunc<KubeObject> {
  return (obj) => {
    const ns = obj.metadata?.namespace;
    const keys: string[] = [];
    for (const ref of obj.metadata?.ownerReferences ?? []) {
      if (ref.kind !== owner.kind) continue;
      const slash = ref.apiVersion.indexOf("/");
      const group = slash < 0 ? "" : ref.apiVersion.slice(0, slash);
      if (group !== owner.group) continue;
      if (opts.controllerOnly === true && ref.controller !== true) continue;
      keys.push(makeKey(ns, ref.name));
    }
    return keys;
  };
}

/**
 * Maps an object to the objects of another informer that point at it, through
 * an index of that informer. E.g. AccessPolicy → every ApiKey naming it:
 *
 *   apiKeys.addIndex("policy", (k) => k.spec.policies.map((p) => `${k.metadata.namespace}/${p}`));
 *   { informer: policies, map: mapByIndex(apiKeys, "policy") }
 *
 * `valueOf` turns the changed object into the index value (default: its key).
 */
export function mapByIndex<S extends KubeObject, T extends KubeObject>(
  target: Informer<T>,
  index: string,
  valueOf: (obj: S) => string = objectKey,
): MapFunc<S> {
  return (obj) => target.byIndex(index, valueOf(obj)).map(objectKey);
}

/**
 * Maps an object to every object of another informer: in the object's own
 * namespace when it has one, else everywhere (e.g. a ClusterRotationPolicy → all ApiKeys).
 */
export function mapToAll(target: Informer): MapFunc<KubeObject> {
  return (obj) => target.list(obj.metadata?.namespace).map(objectKey);
}
