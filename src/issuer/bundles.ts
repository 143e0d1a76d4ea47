// The tenants' bundles as the token service uses them: compiled for the
// verifier from the keyward-bundle ConfigMap in the cache (recompiled when its
// text changes), and its jwks.json served as is.

import type { Logger } from "../kube/logger.ts";
import { BundleError, parseBundle, type CompiledBundle, type TokenVerifier } from "../token/index.ts";
import type { IssuerCache } from "./cache.ts";
import { BUNDLE_CONFIGMAP_NAME, BUNDLE_DATA_KEY, JWKS_DATA_KEY } from "../model/names.ts";

export class TenantBundles {
  readonly #cache: IssuerCache;
  readonly #verifier: TokenVerifier;
  readonly #log: Logger;
  readonly #compiled = new Map<string, { text: string; bundle: CompiledBundle | null }>();

  constructor(cache: IssuerCache, verifier: TokenVerifier, log: Logger) {
    this.#cache = cache;
    this.#verifier = verifier;
    this.#log = log;
  }

  /** The tenant's compiled bundle; null when it has none, or none that is valid v1 for this tenant. */
  compiled(tenant: string): CompiledBundle | null {
    const text = this.#cache.configMaps.get(tenant, BUNDLE_CONFIGMAP_NAME)?.data?.[BUNDLE_DATA_KEY];
    if (text === undefined) {
      this.#compiled.delete(tenant);
      return null;
    }
    const known = this.#compiled.get(tenant);
    if (known?.text === text) return known.bundle;
    let bundle: CompiledBundle | null = null;
    try {
      const parsed = parseBundle(text);
      if (parsed.tenant === tenant) bundle = this.#verifier.load(parsed);
      else this.#log.warn({ tenant, bundleTenant: parsed.tenant }, "the bundle ConfigMap names another tenant; it is not used");
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      this.#log.warn({ tenant, code: err.code, field: err.field }, "the bundle ConfigMap holds no valid bundle; it is not used");
    }
    this.#compiled.set(tenant, { text, bundle });
    return bundle;
  }

  /** The tenant's jwks.json text exactly as the bundle ConfigMap holds it; null when there is none. */
  jwks(tenant: string): string | null {
    return this.#cache.configMaps.get(tenant, BUNDLE_CONFIGMAP_NAME)?.data?.[JWKS_DATA_KEY] ?? null;
  }
}
