// Failed-attempt limiting: a token bucket per key (a client_id, a source
// address). Each failure takes a token; while a bucket is empty, requests for
// its key are answered 429 with Retry-After before any credential is checked.
// Time comes from an injected clock.

import type { Clock } from "../kube/clock.ts";

export interface RateLimitOptions {
  /** Failures allowed in a burst. Default 10. */
  burst?: number;
  /** One more failure allowed every this many ms. Default 6 s (10 a minute). */
  refillMs?: number;
  /** Keys remembered at most; the least recently touched go first. Default 10000. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class FailureLimiter {
  readonly burst: number;
  readonly refillMs: number;
  readonly maxKeys: number;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, Bucket>();

  constructor(clock: Clock, opts: RateLimitOptions = {}) {
    this.#clock = clock;
    this.burst = opts.burst ?? 10;
    this.refillMs = opts.refillMs ?? 6_000;
    this.maxKeys = opts.maxKeys ?? 10_000;
    if (!(this.burst >= 1) || !(this.refillMs > 0) || !(this.maxKeys >= 1)) {
      throw new RangeError("FailureLimiter: burst and maxKeys must be at least 1 and refillMs above 0");
    }
  }

  #current(key: string): Bucket | undefined {
    const b = this.#buckets.get(key);
    if (b === undefined) return undefined;
    const now = this.#clock.now();
    const tokens = Math.min(this.burst, b.tokens + Math.max(0, now - b.at) / this.refillMs);
    if (tokens >= this.burst) {
      this.#buckets.delete(key);
      return undefined;
    }
    return { tokens, at: now };
  }

  /** Seconds until `key` may try again (whole, at least 1); 0 when it may now. */
  retryAfter(key: string): number {
    const b = this.#current(key);
    if (b === undefined || b.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - b.tokens) * this.refillMs) / 1000));
  }

  /** Records a failure of `key`. */
  fail(key: string): void {
    const b = this.#current(key) ?? { tokens: this.burst, at: this.#clock.now() };
    this.#buckets.delete(key);
    this.#buckets.set(key, { tokens: Math.max(0, b.tokens - 1), at: b.at });
    while (this.#buckets.size > this.maxKeys) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done === true) break;
      this.#buckets.delete(oldest.value);
    }
  }

  /** Keys with a bucket that is not full. */
  get size(): number {
    return this.#buckets.size;
  }
}
