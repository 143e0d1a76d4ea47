// A work queue with the semantics of client-go's workqueue, which
// controller-runtime and kube-rs share:
//
// - a key is queued at most once however often it is added (dedupe);
// - a key handed to a worker is not handed to another until `done`: if it is
//   added again meanwhile, it is queued once `done` is called;
// - `addRateLimited` requeues after a per-key exponential backoff, which
//   `forget` resets (call it on success);
// - `addAfter` requeues after a delay on the injected clock (requeueAfter);
// - `shutDown` stops taking new keys and resolves once in-flight keys are done.

import { type Clock, systemClock, timerDelay, type TimerHandle } from "../../kube/clock.ts";

export interface QueueBackoff {
  /** Delay of the first retry. Default 100 ms. */
  baseMs?: number;
  /** Ceiling of the delay. Default 5 minutes. */
  maxMs?: number;
}

export interface WorkQueueOptions {
  clock?: Clock;
  backoff?: QueueBackoff;
}

export interface ShutDownOptions {
  /** Keep handing out keys already queued until the queue is empty. Default false: they are dropped. */
  drain?: boolean;
}

export class WorkQueue<K = string> {
  readonly #clock: Clock;
  readonly #baseMs: number;
  readonly #maxMs: number;

  /** Ready keys in FIFO order. */
  #queue: K[] = [];
  /** Keys that need processing: queued, or added again while processing. */
  #dirty = new Set<K>();
  /** Keys handed to a worker and not yet done. */
  #processing = new Set<K>();
  #waiters: Array<(key: K | undefined) => void> = [];
  #failures = new Map<K, number>();
  #delayed = new Map<K, number>();
  #timer: { handle: TimerHandle; due: number } | undefined;
  #shuttingDown = false;
  #drained: Array<() => void> = [];

  constructor(opts: WorkQueueOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#baseMs = opts.backoff?.baseMs ?? 100;
    this.#maxMs = opts.backoff?.maxMs ?? 5 * 60_000;
    if (!(this.#baseMs > 0) || !(this.#maxMs >= this.#baseMs)) {
      throw new RangeError(`work queue backoff: need 0 < baseMs <= maxMs, got baseMs=${this.#baseMs} maxMs=${this.#maxMs}`);
    }
  }

  /** Marks `key` as needing processing. No effect if already queued or after shutdown. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Adds `key` once `ms` have passed on the clock. Of several pending delays for one key, the earliest wins. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (!(ms > 0)) {
      this.add(key);
      return;
    }
    const due = this.#clock.now() + ms;
    const existing = this.#delayed.get(key);
    if (existing !== undefined && existing <= due) return;
    this.#delayed.set(key, due);
    this.#armTimer();
  }

  /** Adds `key` after its backoff delay (base · 2^failures, capped), and counts a failure. Returns the delay. */
  addRateLimited(key: K): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = Math.min(this.#maxMs, this.#baseMs * 2 ** Math.min(failures, 52));
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the backoff of `key` (after a success). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /** Failures counted for `key` since its last `forget`. */
  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /**
   * The next key to process, waiting for one if needed. Resolves undefined once
   * the queue shuts down (after draining, if asked to). Call `done` when finished.
   */
  get(): Promise<K | undefined> {
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    if (!this.#processing.delete(key)) return;
    if (this.#dirty.has(key)) this.#push(key);
    this.#checkDrained();
  }

  /** Keys ready to be processed. */
  len(): number {
    return this.#queue.length;
  }

  /** Keys waiting for their addAfter / backoff delay. */
  delayedCount(): number {
    return this.#delayed.size;
  }

  processingCount(): number {
    return this.#processing.size;
  }

  isProcessing(key: K): boolean {
    return this.#processing.has(key);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Stops accepting keys and drops delayed ones. Resolves once no key is being
   * processed (and, with `drain`, once every queued key has been handed out and done).
   */
  shutDown(opts: ShutDownOptions = {}): Promise<void> {
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer.handle);
      this.#timer = undefined;
      this.#delayed.clear();
      if (opts.drain !== true) {
        this.#queue = [];
        this.#dirty.clear();
      }
      if (this.#queue.length === 0) {
        const waiters = this.#waiters;
        this.#waiters = [];
        for (const w of waiters) w(undefined);
      }
    }
    return new Promise((resolve) => {
      this.#drained.push(resolve);
      this.#checkDrained();
    });
  }

  #push(key: K): void {
    this.#queue.push(key);
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(this.#take());
  }

  #take(): K | undefined {
    if (this.#queue.length === 0) return undefined;
    const key = this.#queue.shift()!;
    this.#processing.add(key);
    this.#dirty.delete(key);
    return key;
  }

  #checkDrained(): void {
    if (!this.#shuttingDown || this.#processing.size > 0 || this.#queue.length > 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w(undefined);
    const drained = this.#drained;
    this.#drained = [];
    for (const d of drained) d();
  }

  #armTimer(): void {
    let earliest: number | undefined;
    for (const due of this.#delayed.values()) if (earliest === undefined || due < earliest) earliest = due;
    if (earliest === undefined) return;
    if (this.#timer !== undefined) {
      if (this.#timer.due <= earliest) return;
      this.#clock.clearTimeout(this.#timer.handle);
    }
    const due = earliest;
    // At most MAX_TIMER_DELAY_MS at a time, whatever the clock: #fire re-arms for a key not yet due.
    this.#timer = { due, handle: this.#clock.setTimeout(() => { this.#fire(); }, timerDelay(due - this.#clock.now())) };
  }

  #fire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    const ready = [...this.#delayed].filter(([, due]) => due <= now).sort((a, b) => a[1] - b[1]);
    for (const [key] of ready) {
      this.#delayed.delete(key);
      this.add(key);
    }
    this.#armTimer();
  }
}
