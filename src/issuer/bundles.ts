// The tenants' bundles as the token service uses them: compiled for the
// verifier from the controller's record of each tenant's bundle (in keyward's own
// namespace, recompiled when its text changes), and the JWK Set of its keys. The
// tenant's keyward-bundle ConfigMap is never read here: a namespace editor can
// write it, and a key added there must neither authenticate a caller of the
// issuer API nor reach a third-party verifier through jwks_uri.

import type { Logger } from "../kube/logger.ts";
import { BundleError, jwkSetOf, parseBundle, type CompiledBundle, type TokenVerifier } from "../token/index.ts";
import type { IssuerCache } from "./cache.ts";
import { bundleRecordName } from "../model/bundle/signing.ts";
import { BUNDLE_DATA_KEY } from "../model/names.ts";

interface Compiled {
  text: string;
  bundle: CompiledBundle | null;
  /** The JWK Set of the bundle's keys, as the controller writes jwks.json; null without a valid bundle. */
  jwks: string | null;
}

export class TenantBundles {
  readonly #cache: IssuerCache;
  readonly #verifier: TokenVerifier;
  readonly #log: Logger;
  readonly #compiled = new Map<string, Compiled>();

  constructor(cache: IssuerCache, verifier: TokenVerifier, log: Logger) {
    this.#cache = cache;
    this.#verifier = verifier;
    this.#log = log;
  }

  /** The tenant's compiled bundle; null when it has none, or none that is valid v1 for this tenant. */
  compiled(tenant: string): CompiledBundle | null {
    return this.#read(tenant)?.bundle ?? null;
  }

  /** The JWK Set of the tenant's keys (the text the controller writes as jwks.json); null when there is none. */
  jwks(tenant: string): string | null {
    return this.#read(tenant)?.jwks ?? null;
  }

  #read(tenant: string): Compiled | null {
    const text = this.#cache.records.get(this.#cache.systemNamespace, bundleRecordName(tenant))?.data?.[BUNDLE_DATA_KEY];
    if (text === undefined) {
      this.#compiled.delete(tenant);
      return null;
    }
    const known = this.#compiled.get(tenant);
    if (known?.text === text) return known;
    const read: Compiled = { text, bundle: null, jwks: null };
    try {
      const parsed = parseBundle(text);
      if (parsed.tenant === tenant) {
        read.bundle = this.#verifier.load(parsed);
        read.jwks = JSON.stringify(jwkSetOf(parsed.keys));
      } else this.#log.warn({ tenant, bundleTenant: parsed.tenant }, "the bundle record names another tenant; it is not used");
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
      this.#log.warn({ tenant, code: err.code, field: err.field }, "the bundle record holds no valid bundle; it is not used");
    }
    this.#compiled.set(tenant, read);
    return read;
  }
}
