// Shared fixtures of the AccessToken tests: an ApiKey with real keys, and a small
// simulated controller keeping the AccessToken's status and Secret between
// reconciles, written in the order the reconciler asks for.

import type { AccessToken, AccessTokenSpec } from "../../../src/api/types.generated.ts";
import type { SecretObject } from "../../../src/model/signing-key/secret.ts";
import type { ApiKeyForToken } from "../../../src/controller/accesstoken/plan.ts";
import { planAccessToken, type AccessTokenOutcome } from "../../../src/controller/accesstoken/reconcile.ts";
import { publishedRevocationsOf } from "../../../src/controller/accesstoken/revocations.ts";
import type { ResolvedRotationPolicy } from "../../../src/model/policy/types.ts";
import type { Bundle, PrivateJwk } from "../../../src/token/types.ts";
import { SignerError, type Signer } from "../../../src/model/signing-key/signer.ts";
import { signWithJwk } from "../../../src/token/jwt/issue.ts";
import { policyOf } from "../apikey/fixtures.ts";

export const H = 3_600_000;
export const M = 60_000;
export const S = 1000;
export const NOW = new Date("2026-03-01T00:00:00Z");
export const ISSUER = "https://keyward.example";
/** The `iss` of acme's tokens: its tenant issuer. */
export const TOKEN_ISSUER = `${ISSUER}/acme`;
export const after = (ms: number): Date => new Date(NOW.getTime() + ms);

export function accessToken(spec: Partial<AccessTokenSpec> = {}): AccessToken {
  return {
    apiVersion: "keyward.dev/v1alpha1",
    kind: "AccessToken",
    metadata: { name: "ci", namespace: "acme", uid: "5a0d3b9c-3333-4e1f-a2b4-000000000003", generation: 1 },
    spec: { apiKeyName: "reporting", ...spec },
  };
}

export const API_KEY_UID = "7d1c0e6a-1111-4c3b-9a55-000000000001";

/** The keys the ApiKey "reporting" of acme has had; the signer signs with them. */
const ring = new Map<string, PrivateJwk>();

/**
 * A signer over the keys of `ring`, kept in memory: what the in-cluster signer
 * does once it has read the ApiKey's document (signWithJwk), for ApiKey acme/reporting only.
 */
export const ringSigner: Signer = {
  generate: () => Promise.reject(new Error("the AccessToken tests mint no key")),
  sign: (key, input) => {
    const jwk = ring.get(key.kid);
    if (jwk === undefined || key.namespace !== "acme" || key.name !== "reporting" || key.uid !== API_KEY_UID) {
      return Promise.reject(new SignerError(`no key ${key.kid} for ApiKey ${key.namespace}/${key.name}`));
    }
    return Promise.resolve(signWithJwk(jwk, input));
  },
  delete: () => Promise.resolve(),
};

export function apiKeyView(active: PrivateJwk, over: Partial<ApiKeyForToken> = {}, policy: ResolvedRotationPolicy = policyOf()): ApiKeyForToken {
  ring.set(active.kid, active);
  return { name: "reporting", uid: API_KEY_UID, suspended: false, activeKey: { kid: active.kid, alg: active.alg }, kids: [active.kid], revokedBefore: null, policy, ...over };
}

/** The AccessToken, its Secret and its ApiKey as the API server would keep them between reconciles. */
export class SimulatedAccessToken {
  accessToken: AccessToken;
  secret: SecretObject | null = null;
  apiKey: ApiKeyForToken | null;
  bundle: Bundle | null = null;
  readonly outcomes: AccessTokenOutcome[] = [];

  constructor(accessToken: AccessToken, apiKey: ApiKeyForToken | null) {
    this.accessToken = accessToken;
    this.apiKey = apiKey;
  }

  /** Signs the tokens; default the keys apiKeyView was given. */
  signer: Signer = ringSigner;

  async reconcile(now: Date): Promise<AccessTokenOutcome> {
    const outcome = await planAccessToken({
      now,
      accessToken: this.accessToken,
      secret: this.secret,
      apiKey: this.apiKey,
      issuer: TOKEN_ISSUER,
      bundle: this.bundle === null ? null : publishedRevocationsOf(this.bundle),
      signer: this.signer,
    });
    this.accessToken = { ...this.accessToken, status: outcome.status };
    if (outcome.secret !== null) this.secret = outcome.secret;
    this.outcomes.push(outcome);
    return outcome;
  }

  setSpec(spec: Partial<AccessTokenSpec>): void {
    this.accessToken = { ...this.accessToken, spec: { ...this.accessToken.spec, ...spec } };
  }

  /** The JWT in the Secret. */
  token(): string {
    const encoded = this.secret?.data?.token;
    if (encoded === undefined) throw new Error("the Secret holds no token");
    return Buffer.from(encoded, "base64").toString("utf8");
  }
}
