// Test fixtures: signing keys made once per test file, a valid tenant bundle,
// and a token forger that signs any header and claims with node:crypto directly
// (independently of issueAccessToken), for attacks on the verifier.

import { createHmac, createPrivateKey, createPublicKey, sign } from "node:crypto";
import { generateSigningKey, publicJwkOf, tenantIssuer } from "../../../src/token/index.ts";
import type {
  Algorithm, Bundle, BundleApiKey, BundleKey, BundlePolicy, KeyState, PrivateJwk, RevokedEntry,
} from "../../../src/token/index.ts";

export const ISSUER = "https://keyward.example";
export const TENANT = "acme";
/** The `iss` of acme's tokens (token format v2): its tenant issuer. */
export const TENANT_ISSUER = tenantIssuer(ISSUER, TENANT);
export const NOW_MS = Date.parse("2026-11-29T12:00:00Z");
export const NOW_S = NOW_MS / 1000;
export const HOUR = 3600;

/** Allows GET and HEAD below /api/v0, except /api/v0/admin. */
export const READ_POLICY: BundlePolicy = {
  rules: [
    { effect: "Allow", methods: ["GET", "HEAD"], paths: ["/api/v0/**"] },
    { effect: "Deny", methods: ["*"], paths: ["/api/v0/admin/**"] },
  ],
};

const keys = new Map<string, Promise<PrivateJwk>>();

/** A signing key, generated once per test file for each (alg, name). */
export function signingKey(alg: Algorithm = "EdDSA", name = "default"): Promise<PrivateJwk> {
  const id = `${alg}/${name}`;
  let key = keys.get(id);
  if (key === undefined) {
    key = generateSigningKey(alg);
    keys.set(id, key);
  }
  return key;
}

export function bundleKey(key: PrivateJwk, apiKey = "reporting", state: KeyState = "active", notAfter: string | null = null): BundleKey {
  return { ...publicJwkOf(key), apiKey, state, notAfter };
}

export function apiKeyEntry(overrides: Partial<BundleApiKey> = {}): BundleApiKey {
  return { uid: "0b5b1c2e-7f1a-4c55-9f3e-5a0d3f3e9a10", policies: ["datagrid-read"], suspended: false, revokedBefore: null, allowNonExpiring: false, ...overrides };
}

export interface BundleParts {
  keys: BundleKey[];
  apiKeys?: Record<string, BundleApiKey>;
  policies?: Record<string, BundlePolicy>;
  revoked?: RevokedEntry[];
  generation?: number;
}

/** Bundle content for tenant acme: ApiKeys reporting and billing, policy datagrid-read. */
export function bundleInput(parts: BundleParts): Omit<Bundle, "apiVersion"> {
  return {
    tenant: TENANT,
    issuer: ISSUER,
    generation: parts.generation ?? 1,
    generatedAt: "2026-11-29T11:59:00Z",
    keys: parts.keys,
    apiKeys: parts.apiKeys ?? { reporting: apiKeyEntry(), billing: apiKeyEntry({ uid: "6f1d2a9c-1111-4d2b-8c1e-222233334444" }) },
    policies: parts.policies ?? { "datagrid-read": READ_POLICY },
    revoked: parts.revoked ?? [],
  };
}

export function encodePart(value: unknown): string {
  return Buffer.from(typeof value === "string" ? value : JSON.stringify(value), "utf8").toString("base64url");
}

/** Valid v1 claims for ApiKey reporting of tenant acme, issued now, expiring in an hour. */
export function claimsFor(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: TENANT_ISSUER, sub: "reporting", client_id: "reporting", aud: TENANT, iat: NOW_S, nbf: NOW_S, exp: NOW_S + HOUR,
    jti: "c29tZS10b2tlbi1pZA", ...overrides,
  };
}

/** Signs `header` and `claims` with `key` for its own algorithm, whatever the header says. */
export function forge(key: PrivateJwk, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${encodePart(header)}.${encodePart(claims)}`;
  const privateKey = createPrivateKey({ key: { ...key }, format: "jwk" });
  const data = Buffer.from(input);
  const signature = key.alg === "EdDSA"
    ? sign(null, data, privateKey)
    : key.alg === "ES256"
      ? sign("sha256", data, { key: privateKey, dsaEncoding: "ieee-p1363" })
      : sign("sha256", data, privateKey);
  return `${input}.${signature.toString("base64url")}`;
}

/** An HS256 token whose HMAC secret is the SPKI PEM of `key`'s public half (the classic key-confusion attack). */
export function forgeHs256WithPublicKey(key: PrivateJwk, header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const pem = createPublicKey({ key: { ...publicJwkOf(key) }, format: "jwk" }).export({ type: "spki", format: "pem" });
  const input = `${encodePart(header)}.${encodePart(claims)}`;
  return `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
}

/** The standard header of a v1 token signed with `key`. */
export function headerFor(key: PrivateJwk, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: key.alg, typ: "at+jwt", kid: key.kid, ...overrides };
}
