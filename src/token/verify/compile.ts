// A bundle compiled for verification: keys imported, policies compiled, revoked
// jtis indexed.

import { tenantIssuer } from "../jwt/issuer.ts";
import { BundleError, TokenInputError } from "../errors.ts";
import { importVerifyingKey } from "../lib/crypto.ts";
import type { VerifyingKey } from "../lib/crypto.ts";
import { parseRfc3339 } from "../lib/rfc3339.ts";
import { validateBundle } from "../bundle/validate.ts";
import { memberPath } from "../bundle/validate.ts";
import { compilePolicy } from "../policy/match.ts";
import type { CompiledPolicy } from "../policy/match.ts";
import type { Algorithm, Bundle, KeyState } from "../types.ts";

export interface CompiledKey {
  readonly kid: string;
  readonly alg: Algorithm;
  readonly apiKey: string;
  readonly state: KeyState;
  readonly notAfter: string | null;
  readonly notAfterMs: number | null;
  readonly verifying: VerifyingKey;
}

export interface CompiledApiKey {
  readonly name: string;
  readonly uid: string;
  readonly suspended: boolean;
  readonly revokedBefore: string | null;
  readonly revokedBeforeMs: number | null;
  readonly allowNonExpiring: boolean;
  readonly policies: readonly CompiledPolicy[];
}

/** A bundle ready for TokenVerifier.verify. Immutable; build it with TokenVerifier.load. */
export interface CompiledBundle {
  /** The validated bundle it was compiled from. */
  readonly bundle: Bundle;
  readonly tenant: string;
  /** The configured (shared, v1) issuer: the bundle's `issuer`. */
  readonly issuer: string;
  /** The tenant's issuer (v2): tenantIssuer(issuer, tenant). */
  readonly tenantIssuer: string;
  readonly generation: number;
  readonly keys: ReadonlyMap<string, CompiledKey>;
  readonly apiKeys: ReadonlyMap<string, CompiledApiKey>;
  readonly revoked: ReadonlySet<string>;
}

/**
 * Validates and compiles `input`. Public keys already imported for a kid are
 * taken from `known` (a kid is the key's thumbprint, so the same kid is the same
 * key). Throws BundleError for an invalid bundle or a key that cannot be imported.
 */
export function compileBundle(input: Bundle, known: ReadonlyMap<string, VerifyingKey> | undefined): CompiledBundle {
  const bundle = validateBundle(input);
  const policies = new Map<string, CompiledPolicy>();
  for (const [name, policy] of Object.entries(bundle.policies)) {
    try {
      policies.set(name, compilePolicy(name, policy));
    } catch (e) {
      if (e instanceof TokenInputError) throw new BundleError("ERR_BUNDLE_FIELD", `${memberPath("policies", name)}.${e.field}`, e.message);
      throw e;
    }
  }
  const apiKeys = new Map<string, CompiledApiKey>();
  for (const [name, a] of Object.entries(bundle.apiKeys)) {
    apiKeys.set(name, {
      name,
      uid: a.uid,
      suspended: a.suspended,
      revokedBefore: a.revokedBefore,
      revokedBeforeMs: a.revokedBefore === null ? null : parseRfc3339(a.revokedBefore),
      allowNonExpiring: a.allowNonExpiring,
      policies: a.policies.map((p) => policies.get(p)!),
    });
  }
  const keys = new Map<string, CompiledKey>();
  bundle.keys.forEach((k, i) => {
    let verifying = known?.get(k.kid);
    if (verifying?.alg !== k.alg) {
      try {
        verifying = importVerifyingKey(k, k.alg);
      } catch (e) {
        throw new BundleError("ERR_BUNDLE_FIELD", `keys[${i}]`, `is not a usable ${k.alg} public key: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    keys.set(k.kid, {
      kid: k.kid,
      alg: k.alg,
      apiKey: k.apiKey,
      state: k.state,
      notAfter: k.notAfter,
      notAfterMs: k.notAfter === null ? null : parseRfc3339(k.notAfter),
      verifying,
    });
  });
  return {
    bundle,
    tenant: bundle.tenant,
    issuer: bundle.issuer,
    tenantIssuer: tenantIssuer(bundle.issuer, bundle.tenant),
    generation: bundle.generation,
    keys,
    apiKeys,
    revoked: new Set(bundle.revoked.map((r) => r.jti)),
  };
}
