// Keys, bundles and tokens for the verifier's tests: one tenant with a few ApiKeys and
// policies, built with the token library exactly as the controller builds them.

import { bundleSegmentName } from "../../../src/model/names.ts";
import {
  buildBundle,
  generateSigningKey,
  issueAccessToken,
  publicJwkOf,
  segmentDigest,
  serializeBundle,
  serializeSegment,
  tenantIssuer,
  type Bundle,
  type BundleKey,
  type PrivateJwk,
  type RevokedSegmentRef,
} from "../../../src/token/index.ts";

export const TENANT = "acme";
export const ISSUER = "https://keyward.test";
/** 2026-11-29T12:00:00Z: the tests' "now". */
export const T0 = Date.parse("2026-11-29T12:00:00Z");

export interface Fixture {
  /** Active key of ApiKey "reporting" (policies: read, no-admin). */
  reporting: PrivateJwk;
  /** Active key of ApiKey "frozen", which is suspended. */
  frozen: PrivateJwk;
  /** A key in no bundle. */
  stranger: PrivateJwk;
  bundle(over?: Partial<Omit<Bundle, "apiVersion">>): Bundle;
  bundleText(over?: Partial<Omit<Bundle, "apiVersion">>): string;
  token(opts?: TokenOptions): Promise<string>;
}

export interface TokenOptions {
  key?: PrivateJwk;
  apiKey?: string;
  tenant?: string;
  issuer?: string;
  /** Issue time; default T0 - 60 s. */
  atMs?: number;
  /** Default 3600; null: no exp. */
  lifetimeSeconds?: number | null;
  jti?: string;
}

export function bundleKey(key: PrivateJwk, apiKey: string, state: BundleKey["state"] = "active", notAfter: string | null = null): BundleKey {
  return { ...publicJwkOf(key), apiKey, state, notAfter };
}

export async function makeFixture(): Promise<Fixture> {
  const [reporting, frozen, stranger] = await Promise.all([generateSigningKey(), generateSigningKey(), generateSigningKey()]);
  const base = (): Omit<Bundle, "apiVersion"> => ({
    tenant: TENANT,
    issuer: ISSUER,
    generation: 1,
    generatedAt: "2026-11-29T11:00:00Z",
    keys: [bundleKey(reporting, "reporting"), bundleKey(frozen, "frozen")],
    apiKeys: {
      reporting: { uid: "11111111-1111-1111-1111-111111111111", policies: ["read", "no-admin"], suspended: false, revokedBefore: null, allowNonExpiring: false },
      frozen: { uid: "22222222-2222-2222-2222-222222222222", policies: ["read"], suspended: true, revokedBefore: null, allowNonExpiring: false },
    },
    policies: {
      read: { rules: [{ effect: "Allow", methods: ["GET", "HEAD", "POST"], paths: ["/api/v0/**"] }] },
      "no-admin": { rules: [{ effect: "Deny", methods: ["*"], paths: ["/api/v0/admin/**"] }] },
    },
    revoked: [],
  });
  const bundle = (over: Partial<Omit<Bundle, "apiVersion">> = {}): Bundle => buildBundle({ ...base(), ...over });
  return {
    reporting,
    frozen,
    stranger,
    bundle,
    bundleText: (over) => serializeBundle(bundle(over)),
    token: async (opts = {}) => {
      const issued = await issueAccessToken({
        key: opts.key ?? reporting,
        issuer: opts.issuer ?? tenantIssuer(ISSUER, opts.tenant ?? TENANT),
        apiKey: opts.apiKey ?? "reporting",
        tenant: opts.tenant ?? TENANT,
        now: new Date(opts.atMs ?? T0 - 60_000),
        lifetimeSeconds: opts.lifetimeSeconds === undefined ? 3600 : opts.lifetimeSeconds,
        ...(opts.jti === undefined ? {} : { jti: opts.jti }),
      });
      return issued.token;
    },
  };
}

/** A token with the given header and claims and a signature of zeros: for format checks. */
export function forgedToken(header: Record<string, unknown>, claims: Record<string, unknown>, signature = "AAAA"): string {
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${part(header)}.${part(claims)}.${signature}`;
}

/** A clock the test moves by hand. */
export class TestClock {
  #ms: number;
  constructor(ms = T0) {
    this.#ms = ms;
  }
  readonly now = (): number => this.#ms;
  set(ms: number): void {
    this.#ms = ms;
  }
  advance(ms: number): void {
    this.#ms += ms;
  }
}

/** A revocation segment of `jtis` (ApiKey reporting, never expiring) in slot `slot`: its ConfigMap's name, its text, and the head's reference to it. */
export function revocationSegment(slot: number, jtis: string[], tenant = TENANT): { name: string; text: string; ref: RevokedSegmentRef } {
  const name = bundleSegmentName(slot);
  const text = serializeSegment(tenant, jtis.map((jti) => ({ jti, apiKey: "reporting", exp: null })));
  return { name, text, ref: { name, sha256: segmentDigest(text), count: jtis.length } };
}
