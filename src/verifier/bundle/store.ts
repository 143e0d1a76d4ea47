// The one place the verifier's bundle lives. Sources offer the text they read; the store
// parses, validates, checks the tenant and the generation, compiles, and swaps atomically.
// A bundle that cannot be used changes nothing: the last good one stays in force.
//
// A head (bundle.json) that names revocation segments is used only with every one of
// them: the store reads them through the source's SegmentReader (each once per SHA-256,
// see segments.ts), assembles the bundle to enforce, and compiles that. Generations and
// equivocation are decided on heads alone; the assembled bundle is never written back.
// A segment missing or not matching leaves the bundle in use as it is, and the store
// reads the segments again, backing off, until they match or a newer head arrives.
// Offers are taken one at a time, in order: one offered while segments are being read
// waits, and of several waiting only the last is taken.
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
import { systemClock, type Clock, type TimerHandle } from "../../kube/clock.ts";
import type { Logger } from "../log.ts";
import type { VerifierMetrics } from "../metrics.ts";
import { isSegmentSlot, SegmentCache, type SegmentReader } from "./segments.ts";

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
  /** Timers of the segment retries. Default the system's. */
  timers?: Pick<Clock, "setTimeout" | "clearTimeout">;
  /** Segments are read again after this long when they did not match, doubling up to maxMs. Default 250 ms to 30 s. */
  segmentRetry?: { initialMs: number; maxMs: number };
}

interface Current {
  /** The head (bundle.json as read): what generations and equivocation are decided on. */
  head: Bundle;
  /** What is enforced: the head with the revocations of its segments. */
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
  /** Where the segments the head names are read; undefined: the source has none (a head naming segments is refused). */
  segments: SegmentReader | undefined;
}

/** A head whose segments did not match, read again after `delayMs`. */
interface SegmentRetry {
  text: string;
  /** The failure last logged for this head: the same again is not logged or counted twice. */
  failure: string;
  delayMs: number;
  timer: TimerHandle | null;
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
  readonly #segments = new SegmentCache();
  #retry: SegmentRetry | null = null;
  /** The offer waiting to be taken (only the last one waits) and who waits for its result. */
  #waiting: { offer: Offer; results: ((r: OfferResult) => void)[] } | null = null;
  #busy = false;
  #closed = false;
  readonly #timers: Pick<Clock, "setTimeout" | "clearTimeout">;
  readonly #retryBackoff: { initialMs: number; maxMs: number };

  constructor(opts: BundleStoreOptions) {
    this.#opts = opts;
    this.#timers = opts.timers ?? systemClock;
    this.#retryBackoff = opts.segmentRetry ?? { initialMs: 250, maxMs: 30_000 };
  }

  /** Stops reading segments again; what is in use stays. */
  close(): void {
    this.#closed = true;
    this.#cancelRetry();
    this.#retry = null;
  }

  /** Names of the segments held for the bundle in use (and any read for a head not yet whole). */
  segmentsHeld(): string[] {
    return this.#segments.names();
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
    if (pending !== null) void this.offer(pending.text, pending.origin, pending.signatureText, pending.segments);
  }

  /** A trust source could not read the trusted keys. The keys already loaded stay. */
  trustFailed(origin: string, message: string): void {
    this.fail(origin, message);
  }

  /**
   * A source read `text` (bundle.json) and `signatureText` (bundle.jws) from `origin`;
   * `segments` reads the revocation segments the head may name. The same pair as the
   * bundle in use confirms it (resets its age); a new signature of the same bundle.json
   * replaces the signature in use; anything else is checked (the signature first) and,
   * if good and whole, swapped in. Resolves with the result of this offer, or of the one
   * offered after it that replaced it while it waited. A head without segments is taken
   * at once when nothing is in progress: the store has changed when this returns.
   */
  offer(text: string, origin: string, signatureText?: string, segments?: SegmentReader): Promise<OfferResult> {
    const offer: Offer = { text, signatureText, origin, segments };
    return new Promise((resolve) => {
      if (this.#waiting === null) this.#waiting = { offer, results: [resolve] };
      else {
        this.#waiting.offer = offer;
        this.#waiting.results.push(resolve);
      }
      if (!this.#busy) void this.#takeWaiting();
    });
  }

  async #takeWaiting(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#waiting !== null) {
        const { offer, results } = this.#waiting;
        this.#waiting = null;
        const result = await this.#take(offer);
        for (const r of results) r(result);
      }
    } finally {
      this.#busy = false;
    }
  }

  async #take(offer: Offer): Promise<OfferResult> {
    const { text, origin, signatureText } = offer;
    const cur = this.#current;
    if (this.#retry !== null && this.#retry.text !== text) this.#cancelRetry(true);
    if (cur !== null && text === cur.text && signatureText === cur.signatureText) return this.#confirm(cur);
    // The same bad text again (a poll of a file that did not change): no new log or metric.
    const refused = this.#lastRefused;
    if (refused !== null && refused.text === text && refused.signatureText === signatureText) return refused.result;

    this.#pending = offer;
    let signature: BundleSignature | null;
    let head: Bundle;
    try {
      signature = this.#checkSignature(text, signatureText);
      if (cur !== null && text === cur.text) {
        // Re-signed, same content: the newer signature is kept, nothing is reloaded.
        cur.signatureText = signatureText;
        cur.signature = signature;
        return this.#confirm(cur);
      }
      head = parseBundle(text);
      if (head.tenant !== this.#opts.tenant) {
        return this.#refuse(text, origin, "ERR_BUNDLE_TENANT",
          `the bundle is for tenant "${head.tenant}" but this verifier enforces tenant "${this.#opts.tenant}"; point the verifier at the keyward-bundle ConfigMap of its own namespace or fix --tenant`);
      }
      assertNotOlder(cur?.head ?? null, head);
    } catch (err) {
      return this.#refuseError(text, origin, err);
    }

    let bundle: Bundle = head;
    if (head.revokedSegments !== undefined) {
      const assembled = await this.#assemble(offer, head);
      if (assembled.kind === "refused") return assembled;
      bundle = assembled.bundle;
      // Segments were being read: a head offered meanwhile is taken next, this one still applies.
    }
    let compiled: CompiledBundle;
    try {
      compiled = this.#opts.verifier.load(bundle);
    } catch (err) {
      return this.#refuseError(text, origin, err);
    }
    this.#cancelRetry();
    this.#retry = null;
    this.#segments.keepOnly(head.revokedSegments ?? []);

    const previous = cur?.bundle.generation ?? null;
    this.#current = { head, bundle, compiled, text, signatureText, signature };
    this.#pending = null;
    this.#lastOkMs = this.#opts.now();
    this.#lastRefused = null;
    this.#lastFailure = null;
    const segmentCount = head.revokedSegments?.length ?? 0;
    this.#opts.metrics.bundleGeneration.set(head.generation);
    this.#opts.metrics.bundleRevocations.set(bundle.revoked.length);
    this.#opts.metrics.bundleSegments.set(segmentCount);
    this.#opts.logger.info(
      {
        event: "bundle_loaded", origin, tenant: head.tenant, generation: head.generation, previousGeneration: previous, keys: head.keys.length, revoked: bundle.revoked.length, segments: segmentCount,
        signedBy: signature?.kid ?? null, signedAt: signature === null ? null : new Date(signature.signedAtMs).toISOString(),
      },
      "bundle loaded",
    );
    for (const listener of this.#listeners) listener(head.generation);
    return { kind: "loaded", generation: head.generation };
  }

  /** The bundle `head` makes with its segments, or the refusal when they cannot all be read or do not match (then read again later). */
  async #assemble(offer: Offer, head: Bundle): Promise<{ kind: "whole"; bundle: Bundle } | (OfferResult & { kind: "refused" })> {
    const refs = head.revokedSegments ?? [];
    const { text, origin, segments: reader } = offer;
    const outside = refs.find((r) => !isSegmentSlot(r.name));
    if (reader === undefined || outside !== undefined) {
      const why = reader === undefined
        ? `generation ${head.generation} names revocation segments, which ${origin} cannot read`
        : `generation ${head.generation} names revocation segment ${outside!.name}, which is not one of the segment ConfigMaps keyward-bundle-revoked-1 to -32 a verifier reads`;
      return this.#refuse(text, origin, "ERR_BUNDLE_SEGMENT_MISSING", `${why}; the bundle is not whole without it`);
    }
    const assembled = await this.#segments.assemble(head, reader);
    if (assembled.kind === "whole") return assembled;
    const { ref, error, readError } = assembled;
    const message = `${error.message.replace(/^revokedSegments\[0\]/, `revokedSegments[${refs.indexOf(ref)}]`)}${readError === undefined ? "" : ` (${readError})`}; ${segmentFix(error.code, reader.where(ref.name), head.generation)}`;
    return this.#segmentFailed(offer, error.code, message);
  }

  /** Segments of the head in `offer` are missing or do not match: nothing changes, and they are read again with back-off. */
  #segmentFailed(offer: Offer, code: BundleError["code"], message: string): OfferResult & { kind: "refused" } {
    const result = { kind: "refused" as const, reason: code, message };
    const retry = this.#retry?.text === offer.text ? this.#retry : null;
    const failure = `${code}: ${message}`;
    if (retry === null || retry.failure !== failure) this.#record(offer.origin, code, message, "error");
    else this.#lastFailure = failure;
    const delayMs = retry === null ? this.#retryBackoff.initialMs : Math.min(this.#retryBackoff.maxMs, retry.delayMs * 2);
    this.#cancelRetry();
    const next: SegmentRetry = { text: offer.text, failure, delayMs, timer: null };
    this.#retry = next;
    if (!this.#closed) {
      next.timer = this.#timers.setTimeout(() => {
        next.timer = null;
        if (this.#retry !== next || this.#waiting !== null) return;
        const pending = this.#pending;
        if (pending?.text === next.text) void this.offer(pending.text, pending.origin, pending.signatureText, pending.segments);
      }, delayMs);
    }
    return result;
  }

  /** Cancels the timer of a segment retry; `forget`: a newer head came, back-off starts again. */
  #cancelRetry(forget = false): void {
    if (this.#retry?.timer != null) this.#timers.clearTimeout(this.#retry.timer);
    if (this.#retry !== null) this.#retry.timer = null;
    if (forget) this.#retry = null;
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

  #refuseError(text: string, origin: string, err: unknown): OfferResult & { kind: "refused" } {
    if (err instanceof BundleError) return this.#refuse(text, origin, err.code, err.message);
    return this.#refuse(text, origin, "ERR_BUNDLE_INVALID", err instanceof Error ? err.message : String(err));
  }

  #refuse(text: string, origin: string, reason: ReloadFailureReason, message: string): OfferResult & { kind: "refused" } {
    const result = { kind: "refused" as const, reason, message };
    this.#lastRefused = { text, signatureText: this.#pending?.signatureText, result };
    this.#record(origin, reason, message);
    return result;
  }

  #record(origin: string, reason: ReloadFailureReason, message: string, level: "warn" | "error" = "warn"): void {
    this.#lastFailure = `${reason}: ${message}`;
    this.#opts.metrics.reloadFailures.inc({ reason });
    const generation = this.generation();
    this.#opts.logger[level](
      { event: "bundle_refused", origin, reason, generationInUse: generation },
      generation === null
        ? `bundle from ${origin} not used (${reason}): ${message}; no bundle loaded yet, every request is answered 503`
        : `bundle from ${origin} not used (${reason}): ${message}; keeping generation ${generation}`,
    );
  }
}

/** What to do about a segment that is missing, does not match the head naming it, or is not a segment. */
function segmentFix(code: string, where: string, generation: number): string {
  if (code === "ERR_BUNDLE_SEGMENT_MISSING") {
    return `${where} cannot be read: the keyward controller writes it before the head that names it, so this passes once it is visible; ` +
      `if it lasts, check that it exists and that the verifier may get it (config/verifier/role.yaml); reading it again`;
  }
  if (code === "ERR_BUNDLE_SEGMENT_DIGEST") {
    return `${where} is not the one generation ${generation} names: it was edited by hand (only the keyward controller writes keyward-bundle-revoked-* ConfigMaps; undo the edit) ` +
      `or already rewritten for a newer generation, which will follow; reading it again`;
  }
  return `${where} has the bytes generation ${generation} names but is not a valid revocation segment: the keyward controller wrote it wrong (report it); reading it again`;
}
