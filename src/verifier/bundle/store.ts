// The one place the verifier's bundle lives. Sources offer the text they read; the store
// parses, validates, checks the tenant and the generation, compiles, and swaps atomically.
// A bundle that cannot be used changes nothing: the last good one stays in force.

import { assertNotOlder, BundleError, parseBundle, type Bundle, type CompiledBundle, type TokenVerifier } from "../../token/index.ts";
import type { Logger } from "../log.ts";
import type { VerifierMetrics } from "../metrics.ts";

/** Reasons a bundle was not used, as the `reason` label of the reload-failure metric. */
export type ReloadFailureReason =
  | BundleError["code"]
  /** The source could not read the bundle (missing file or key, I/O or API error). */
  | "ERR_BUNDLE_READ"
  /** The bundle's `tenant` is not the verifier's `--tenant`. */
  | "ERR_BUNDLE_TENANT"
  /** Anything else the bundle compiler refused. */
  | "ERR_BUNDLE_INVALID";

export type BundleState =
  | { kind: "ready"; bundle: Bundle; compiled: CompiledBundle }
  /** No bundle has ever loaded. */
  | { kind: "empty" }
  /** The bundle was not loaded or confirmed for longer than the maximum age. */
  | { kind: "stale"; bundle: Bundle; ageMs: number };

export type OfferResult =
  | { kind: "loaded"; generation: number }
  | { kind: "unchanged"; generation: number }
  | { kind: "refused"; reason: ReloadFailureReason; message: string };

export interface BundleStoreOptions {
  /** The verifier's tenant: a bundle of another tenant is refused. */
  tenant: string;
  verifier: TokenVerifier;
  now: () => number;
  /** Null: a bundle never goes stale. */
  maxBundleAgeMs: number | null;
  logger: Logger;
  metrics: VerifierMetrics;
}

interface Current {
  bundle: Bundle;
  compiled: CompiledBundle;
  text: string;
}

export class BundleStore {
  readonly #opts: BundleStoreOptions;
  #current: Current | null = null;
  #lastOkMs = 0;
  #lastRefused: { text: string; result: OfferResult & { kind: "refused" } } | null = null;
  #lastFailure: string | null = null;
  readonly #listeners: ((generation: number) => void)[] = [];

  constructor(opts: BundleStoreOptions) {
    this.#opts = opts;
  }

  /** The bundle requests are checked against right now. */
  state(): BundleState {
    const cur = this.#current;
    if (cur === null) return { kind: "empty" };
    const max = this.#opts.maxBundleAgeMs;
    if (max !== null) {
      const ageMs = this.#opts.now() - this.#lastOkMs;
      if (ageMs > max) return { kind: "stale", bundle: cur.bundle, ageMs };
    }
    return { kind: "ready", bundle: cur.bundle, compiled: cur.compiled };
  }

  /** The generation in use, or null before the first load. */
  generation(): number | null {
    return this.#current?.bundle.generation ?? null;
  }

  /** Calls `listener` after each bundle swapped in (the verifier report follows the generation in use). */
  onLoaded(listener: (generation: number) => void): void {
    this.#listeners.push(listener);
  }

  /** Seconds since the bundle was last loaded or confirmed, or null before the first load. */
  ageSeconds(): number | null {
    if (this.#current === null) return null;
    return Math.max(0, (this.#opts.now() - this.#lastOkMs) / 1000);
  }

  /** Why the last offer or read failed, for /readyz; null once a bundle loads or is confirmed. */
  lastFailure(): string | null {
    return this.#lastFailure;
  }

  /**
   * A source read `text` (bundle.json) from `origin`. The same text as the bundle in use
   * confirms it (resets its age); other text is parsed, checked and, if good, swapped in.
   */
  offer(text: string, origin: string): OfferResult {
    const cur = this.#current;
    if (cur !== null && text === cur.text) {
      this.#lastOkMs = this.#opts.now();
      this.#lastRefused = null;
      this.#lastFailure = null;
      return { kind: "unchanged", generation: cur.bundle.generation };
    }
    // The same bad text again (a poll of a file that did not change): no new log or metric.
    if (this.#lastRefused !== null && this.#lastRefused.text === text) return this.#lastRefused.result;

    let next: Bundle;
    let compiled: CompiledBundle;
    try {
      next = parseBundle(text);
      if (next.tenant !== this.#opts.tenant) {
        return this.#refuse(text, origin, "ERR_BUNDLE_TENANT",
          `the bundle is for tenant "${next.tenant}" but this verifier enforces tenant "${this.#opts.tenant}"; point the verifier at the keyward-bundle ConfigMap of its own namespace or fix --tenant`);
      }
      assertNotOlder(cur?.bundle ?? null, next);
      compiled = this.#opts.verifier.load(next);
    } catch (err) {
      if (err instanceof BundleError) return this.#refuse(text, origin, err.code, err.message);
      return this.#refuse(text, origin, "ERR_BUNDLE_INVALID", err instanceof Error ? err.message : String(err));
    }

    const previous = cur?.bundle.generation ?? null;
    this.#current = { bundle: next, compiled, text };
    this.#lastOkMs = this.#opts.now();
    this.#lastRefused = null;
    this.#lastFailure = null;
    this.#opts.metrics.bundleGeneration.set(next.generation);
    this.#opts.logger.info(
      { event: "bundle_loaded", origin, tenant: next.tenant, generation: next.generation, previousGeneration: previous, keys: next.keys.length, revoked: next.revoked.length },
      "bundle loaded",
    );
    for (const listener of this.#listeners) listener(next.generation);
    return { kind: "loaded", generation: next.generation };
  }

  /** A source could not read the bundle at all. The bundle in use stays. */
  fail(origin: string, message: string): void {
    this.#lastRefused = null;
    // The same failure again (a file still missing at the next poll): logged once.
    if (this.#lastFailure === `ERR_BUNDLE_READ: ${message}`) return;
    this.#record(origin, "ERR_BUNDLE_READ", message);
  }

  #refuse(text: string, origin: string, reason: ReloadFailureReason, message: string): OfferResult {
    const result = { kind: "refused" as const, reason, message };
    this.#lastRefused = { text, result };
    this.#record(origin, reason, message);
    return result;
  }

  #record(origin: string, reason: ReloadFailureReason, message: string): void {
    this.#lastFailure = `${reason}: ${message}`;
    this.#opts.metrics.reloadFailures.inc({ reason });
    const generation = this.generation();
    this.#opts.logger.warn(
      { event: "bundle_refused", origin, reason, generationInUse: generation },
      generation === null
        ? `bundle from ${origin} not used (${reason}): ${message}; no bundle loaded yet, every request is answered 503`
        : `bundle from ${origin} not used (${reason}): ${message}; keeping generation ${generation}`,
    );
  }
}
