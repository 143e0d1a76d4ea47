// The one place the verifier's bundle lives. Sources offer the text they read; the store
// parses, validates, checks the tenant and the generation, compiles, and swaps atomically.
// A bundle that cannot be used changes nothing: the last good one stays in force.
//
// With signatures required (the default), the signature over the exact bytes of
// bundle.json is checked against the trusted bundle-signing keys first, and the
// signing time against the maximum signature age, before anything of the bundle
// is read: an unsigned or wrongly signed bundle never moves the generation floor.

import {
  assertNotOlder,
  BundleError,
  parseBundle,
  verifyBundleSignature,
  type Bundle,
  type BundleSignature,
  type CompiledBundle,
  type TokenVerifier,
  type TrustSet,
} from "../../token/index.ts";
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

/** How bundles must be signed. */
export interface SignatureRule {
  /** A bundle signed longer ago than this is refused when it is loaded (a replay of an old bundle). Null: no bound. */
  maxSignatureAgeMs: number | null;
}

export interface BundleStoreOptions {
  /** The verifier's tenant: a bundle of another tenant is refused. */
  tenant: string;
  verifier: TokenVerifier;
  now: () => number;
  /** Null: a bundle never goes stale. */
  maxBundleAgeMs: number | null;
  /** Signatures required (checked against the trust set given to setTrust); null: plain bundles are accepted (development only). */
  signatures: SignatureRule | null;
  logger: Logger;
  metrics: VerifierMetrics;
}

interface Current {
  bundle: Bundle;
  compiled: CompiledBundle;
  text: string;
  /** bundle.jws as read; undefined for a plain bundle. */
  signatureText: string | undefined;
  /** Who signed it and when; null for a plain bundle. */
  signature: BundleSignature | null;
}

interface Offer {
  text: string;
  signatureText: string | undefined;
  origin: string;
}

export class BundleStore {
  readonly #opts: BundleStoreOptions;
  #current: Current | null = null;
  #lastOkMs = 0;
  #lastRefused: { text: string; signatureText: string | undefined; result: OfferResult & { kind: "refused" } } | null = null;
  #lastFailure: string | null = null;
  readonly #listeners: ((generation: number) => void)[] = [];
  #trust: TrustSet | null = null;
  /** The last bundle offered that was not loaded: offered again when the trusted keys change. */
  #pending: Offer | null = null;

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

  /** The signature of the bundle in use (kid, signing time); null for none or a plain bundle. */
  signature(): BundleSignature | null {
    return this.#current?.signature ?? null;
  }

  /**
   * The trusted bundle-signing keys changed (a trust source read them). A bundle that
   * was not loaded is checked again with them; the bundle in use stays in any case.
   */
  setTrust(trust: TrustSet, origin: string): void {
    const before = this.#trust === null ? null : [...this.#trust.keys()].sort().join(",");
    this.#trust = trust;
    const after = [...trust.keys()].sort().join(",");
    if (before === after) return;
    this.#opts.logger.info({ event: "bundle_trust_loaded", origin, kids: [...trust.keys()] }, `trusted bundle-signing keys from ${origin}: ${after || "none"}`);
    const pending = this.#pending;
    this.#lastRefused = null;
    if (pending !== null) this.offer(pending.text, pending.origin, pending.signatureText);
  }

  /** A trust source could not read the trusted keys. The keys already loaded stay. */
  trustFailed(origin: string, message: string): void {
    this.fail(origin, message);
  }

  /**
   * A source read `text` (bundle.json) and `signatureText` (bundle.jws) from `origin`.
   * The same pair as the bundle in use confirms it (resets its age); a new signature of
   * the same bundle.json replaces the signature in use; anything else is checked (the
   * signature first) and, if good, swapped in.
   */
  offer(text: string, origin: string, signatureText?: string): OfferResult {
    const cur = this.#current;
    if (cur !== null && text === cur.text && signatureText === cur.signatureText) return this.#confirm(cur);
    // The same bad text again (a poll of a file that did not change): no new log or metric.
    const refused = this.#lastRefused;
    if (refused !== null && refused.text === text && refused.signatureText === signatureText) return refused.result;

    this.#pending = { text, signatureText, origin };
    let signature: BundleSignature | null;
    let next: Bundle;
    let compiled: CompiledBundle;
    try {
      signature = this.#checkSignature(text, signatureText);
      if (cur !== null && text === cur.text) {
        // Re-signed, same content: the newer signature is kept, nothing is reloaded.
        cur.signatureText = signatureText;
        cur.signature = signature;
        return this.#confirm(cur);
      }
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
    this.#current = { bundle: next, compiled, text, signatureText, signature };
    this.#pending = null;
    this.#lastOkMs = this.#opts.now();
    this.#lastRefused = null;
    this.#lastFailure = null;
    this.#opts.metrics.bundleGeneration.set(next.generation);
    this.#opts.logger.info(
      {
        event: "bundle_loaded", origin, tenant: next.tenant, generation: next.generation, previousGeneration: previous, keys: next.keys.length, revoked: next.revoked.length,
        signedBy: signature?.kid ?? null, signedAt: signature === null ? null : new Date(signature.signedAtMs).toISOString(),
      },
      "bundle loaded",
    );
    for (const listener of this.#listeners) listener(next.generation);
    return { kind: "loaded", generation: next.generation };
  }

  #confirm(cur: Current): OfferResult {
    this.#lastOkMs = this.#opts.now();
    this.#lastRefused = null;
    this.#lastFailure = null;
    this.#pending = null;
    return { kind: "unchanged", generation: cur.bundle.generation };
  }

  /** Throws BundleError unless `text` is signed as the rule says; null when signatures are not required. */
  #checkSignature(text: string, signatureText: string | undefined): BundleSignature | null {
    const rule = this.#opts.signatures;
    if (rule === null) return null;
    if (this.#trust === null) {
      throw new BundleError("ERR_BUNDLE_TRUST", "bundle.jws", "no trusted bundle-signing keys are loaded yet (see the bundle trust source), so no bundle can be checked");
    }
    const signature = verifyBundleSignature(text, signatureText, this.#trust);
    const ageMs = this.#opts.now() - signature.signedAtMs;
    if (rule.maxSignatureAgeMs !== null && ageMs > rule.maxSignatureAgeMs) {
      throw new BundleError(
        "ERR_BUNDLE_SIGNATURE_EXPIRED",
        "bundle.jws.signedAt",
        `the bundle was signed ${Math.floor(ageMs / 1000)} s ago, longer than --max-signature-age ${Math.floor(rule.maxSignatureAgeMs / 1000)} s: ` +
          `an old bundle replayed, or the keyward controller has not re-signed it (is it running?)`,
      );
    }
    return signature;
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
    this.#lastRefused = { text, signatureText: this.#pending?.signatureText, result };
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
