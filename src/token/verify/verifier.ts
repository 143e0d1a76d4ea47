import { TokenInputError } from "../errors.ts";
import type { VerifyingKey } from "../lib/crypto.ts";
import { Lru } from "../lib/lru.ts";
import type { Bundle } from "../types.ts";
import { runChecks } from "./check.ts";
import type { CachedToken, CheckSettings } from "./check.ts";
import { compileBundle } from "./compile.ts";
import { DEFAULT_SHARED_ISSUER_WINDOW_SECONDS, MAX_SHARED_ISSUER_WINDOW_SECONDS } from "../jwt/issuer.ts";
import type { CompiledBundle } from "./compile.ts";
import type {
  ExplainStep, Explanation, RequestInfo, TokenCheckResult, VerifierOptions, VerifierStats, VerifyResult,
} from "./types.ts";

export const DEFAULT_LEEWAY_SECONDS = 30;
/** The largest leeway a verifier accepts; revoked entries outlive their exp by at least this much. */
export const MAX_LEEWAY_SECONDS = 300;
export const DEFAULT_MAX_TOKEN_BYTES = 8192;
export const DEFAULT_CACHE_SIZE = 10_000;

function option(value: number | undefined, fallback: number, min: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TokenInputError(field, `must be a whole number from ${min} to ${max}, not ${String(value)}`);
  }
  return value;
}

function checkRequest(request: RequestInfo | null): void {
  if (request !== null && (typeof request.method !== "string" || typeof request.path !== "string")) {
    throw new TokenInputError("request", "must have a string method and a string path");
  }
}

function checkNow(nowMs: number): void {
  if (typeof nowMs !== "number" || !Number.isFinite(nowMs)) throw new TokenInputError("nowMs", "must be a finite number of milliseconds since the epoch");
}

/**
 * Verifies v1 access tokens against compiled bundles, synchronously.
 *
 * Keeps a bounded LRU of tokens whose signature verified (found by the end of
 * the signature, used only for the very same token, tied to the key object that
 * verified it): a repeat skips the
 * signature check only; every other check runs on every request.
 */
export class TokenVerifier {
  readonly leewaySeconds: number;
  readonly maxTokenBytes: number;
  readonly cacheSize: number;
  readonly sharedIssuerWindowSeconds: number;
  readonly #settings: CheckSettings;
  readonly #cache: Lru<string, CachedToken>;
  /** Imported public keys of the last bundle loaded for each tenant, by kid. */
  readonly #keys = new Map<string, ReadonlyMap<string, VerifyingKey>>();

  constructor(opts: VerifierOptions = {}) {
    this.leewaySeconds = option(opts.leewaySeconds, DEFAULT_LEEWAY_SECONDS, 0, MAX_LEEWAY_SECONDS, "leewaySeconds");
    this.maxTokenBytes = option(opts.maxTokenBytes, DEFAULT_MAX_TOKEN_BYTES, 512, 65_536, "maxTokenBytes");
    this.cacheSize = option(opts.cacheSize, DEFAULT_CACHE_SIZE, 0, 1_000_000, "cacheSize");
    this.sharedIssuerWindowSeconds = option(opts.sharedIssuerWindowSeconds, DEFAULT_SHARED_ISSUER_WINDOW_SECONDS, 0, MAX_SHARED_ISSUER_WINDOW_SECONDS, "sharedIssuerWindowSeconds");
    this.#cache = new Lru(this.cacheSize);
    this.#settings = {
      leewayMs: this.leewaySeconds * 1000,
      sharedIssuerWindowMs: this.sharedIssuerWindowSeconds * 1000,
      maxTokenBytes: this.maxTokenBytes,
      cache: this.cacheSize > 0 ? this.#cache : null,
      counters: { hits: 0, misses: 0 },
    };
  }

  /**
   * Compiles a bundle: validates it, imports each public key once (a key already
   * imported for the tenant's previous bundle is reused by kid), compiles the
   * policies and indexes the revoked jtis. Throws BundleError for an invalid
   * bundle, and then changes nothing.
   */
  load(bundle: Bundle): CompiledBundle {
    const compiled = compileBundle(bundle, this.#keys.get(bundle.tenant));
    const keys = new Map<string, VerifyingKey>();
    for (const [kid, key] of compiled.keys) keys.set(kid, key.verifying);
    this.#keys.set(compiled.tenant, keys);
    return Object.freeze(compiled);
  }

  /**
   * Runs every check of docs/token-format.md "Verification" in order; the
   * first failure is the result. `nowMs` is the current time in milliseconds.
   */
  verify(token: string | undefined, request: RequestInfo, bundle: CompiledBundle, nowMs: number): VerifyResult {
    checkNow(nowMs);
    checkRequest(request);
    return runChecks(this.#settings, token, request, bundle, nowMs, null) as VerifyResult;
  }

  /**
   * The same checks as verify, recording every step with its outcome, for
   * `keyward token verify`. The cache is neither read nor written: the
   * signature is always checked. Without a request, the path and policy step
   * is skipped and the identity carries no rule.
   */
  explain(token: string | undefined, request: RequestInfo, bundle: CompiledBundle, nowMs: number): Explanation;
  explain(token: string | undefined, request: null, bundle: CompiledBundle, nowMs: number): Explanation<TokenCheckResult>;
  explain(token: string | undefined, request: RequestInfo | null, bundle: CompiledBundle, nowMs: number): Explanation<VerifyResult | TokenCheckResult>;
  explain(token: string | undefined, request: RequestInfo | null, bundle: CompiledBundle, nowMs: number): Explanation<VerifyResult | TokenCheckResult> {
    checkNow(nowMs);
    checkRequest(request);
    const steps: ExplainStep[] = [];
    const settings: CheckSettings = { ...this.#settings, cache: null, counters: { hits: 0, misses: 0 } };
    const result = runChecks(settings, token, request, bundle, nowMs, steps);
    return { result, steps };
  }

  /** Counters of the verified-token cache, for metrics. */
  stats(): VerifierStats {
    return { cacheEntries: this.#cache.size, cacheHits: this.#settings.counters.hits, cacheMisses: this.#settings.counters.misses };
  }

  /** Empties the verified-token cache. */
  clearCache(): void {
    this.#cache.clear();
  }
}
