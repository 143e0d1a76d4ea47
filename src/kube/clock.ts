// The clock every time-dependent part of the runtime takes by injection, so
// tests advance time instead of waiting for it.

/** An opaque handle returned by Clock.setTimeout. */
export type TimerHandle = object;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once, `ms` milliseconds from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The longest delay a Node timer keeps: 2^31 - 1 ms (24.8 days). Node fires a
 * timer set for longer after 1 ms instead.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * A delay Node's setTimeout takes as it is: at least 0 (NaN counts as 0) and at
 * most MAX_TIMER_DELAY_MS. A caller that asked for longer is woken early and
 * re-checks what is due.
 */
export function timerDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, MAX_TIMER_DELAY_MS);
}

/** A systemClock timer: a delay beyond MAX_TIMER_DELAY_MS is waited out in several Node timers. */
class SystemTimer {
  #timer: NodeJS.Timeout | undefined;

  constructor(fn: () => void, ms: number) {
    this.#arm(fn, ms);
  }

  #arm(fn: () => void, remaining: number): void {
    const step = timerDelay(remaining);
    this.#timer = setTimeout(() => {
      if (step < remaining) this.#arm(fn, remaining - step);
      else fn();
    }, step);
    this.#timer.unref();
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/**
 * The wall clock and Node's timers. Timers do not keep the process alive. A
 * timer fires once its whole delay has passed, however long (Node's own fire at
 * once beyond MAX_TIMER_DELAY_MS).
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    return new SystemTimer(fn, ms);
  },
  clearTimeout(handle) {
    if (handle instanceof SystemTimer) handle.clear();
  },
};

/**
 * Resolves after `ms` on `clock`, or as soon as `signal` aborts. Never rejects.
 * Returns true when it was woken by the signal.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      resolve(true);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface ManualTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. `advance` fires due timers in order of
 * their due time and lets the promise chains they start run before the next.
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers = new Map<number, ManualTimer>();
  #handles = new WeakMap<TimerHandle, number>();

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#now = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, due: this.#now + Math.max(0, ms), fn });
    const handle = { id };
    this.#handles.set(handle, id);
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    const id = this.#handles.get(handle);
    if (id !== undefined) this.#timers.delete(id);
  }

  /** Number of timers not yet fired or cleared. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Due time of the earliest pending timer, if any. */
  nextDue(): number | undefined {
    let best: number | undefined;
    for (const t of this.#timers.values()) if (best === undefined || t.due < best) best = t.due;
    return best;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#earliest();
      if (next === undefined || next.due > target) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.due);
      next.fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /** Moves time to the earliest pending timer and fires it (and any due at the same time). */
  async runNext(): Promise<boolean> {
    const due = this.nextDue();
    if (due === undefined) return false;
    await this.advance(Math.max(0, due - this.#now));
    return true;
  }

  #earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.#timers.values()) {
      if (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    }
    return best;
  }
}

/** Lets pending promise callbacks and I/O callbacks run. Does not wait for time to pass. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
