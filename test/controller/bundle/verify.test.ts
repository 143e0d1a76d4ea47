// The three planners together, checked by the verifier itself: the tokens the
// controller issues verify against the bundle it publishes, and every revocation
// form takes effect there.

import { beforeAll, describe, expect, it } from "vitest";
import type { AccessToken, ApiKey } from "../../../src/api/types.generated.ts";
import { apiKeyForToken } from "../../../src/controller/accesstoken/plan.ts";
import { revocationsOf } from "../../../src/controller/accesstoken/revocations.ts";
import { bundleKeysOf, signingKeySecret } from "../../../src/model/signing-key/secret.ts";
import { secretSigner } from "../../../src/model/signing-key/signer.ts";
import { planBundle } from "../../../src/controller/bundle/plan.ts";
import { TokenVerifier } from "../../../src/token/verify/verifier.ts";
import type { Bundle } from "../../../src/token/types.ts";
import { H, KeyPool, M, SimulatedApiKey, policyOf } from "../apikey/fixtures.ts";
import { ISSUER, SimulatedAccessToken, accessToken } from "../accesstoken/fixtures.ts";

let pool: KeyPool;
beforeAll(async () => {
  pool = await KeyPool.create(12);
});

const SYSTEM = "keyward-system";
const START = new Date("2026-03-01T00:00:00Z");
const at = (ms: number): Date => new Date(START.getTime() + ms);
const READ = { method: "GET", path: "/api/v0/profiles/42" };

/** One tenant with one ApiKey and its AccessTokens, reconciled together. */
class Tenant {
  readonly key: SimulatedApiKey;
  readonly tokens: SimulatedAccessToken[] = [];
  apiKeySpec: NonNullable<ApiKey["spec"]> = { policies: ["read"] };
  configMap: Record<string, string> | null = null;
  bundle: Bundle | null = null;
  readonly verifier = new TokenVerifier({ leewaySeconds: 30, cacheSize: 0 });
  /** The in-cluster signer, over the ApiKey's Secret in the system namespace as the ApiKey controller last wrote it. */
  readonly signer = secretSigner({
    systemNamespace: SYSTEM,
    secrets: {
      get: (namespace, name) => {
        const doc = this.key.document;
        const secret = doc === null ? undefined : signingKeySecret(SYSTEM, { namespace: "acme", name: "reporting", uid: "uid-reporting" }, doc);
        return namespace === SYSTEM && name === secret?.metadata.name ? secret : undefined;
      },
    },
  });

  constructor() {
    this.key = new SimulatedApiKey(policyOf({ grace: "24h", maxTokenLifetime: "2160h" }), pool.restart());
  }

  add(spec: Partial<AccessToken["spec"]> = {}): SimulatedAccessToken {
    const base = accessToken({ lifetime: "2000h", ...spec });
    const sim = new SimulatedAccessToken({ ...base, metadata: { ...base.metadata, name: `t${this.tokens.length}`, uid: `uid-t${this.tokens.length}` } }, null);
    sim.signer = this.signer;
    this.tokens.push(sim);
    return sim;
  }

  async reconcile(now: Date): Promise<void> {
    this.key.spec = { ...this.apiKeySpec };
    await this.key.reconcile(now);
    const apiKey: ApiKey = {
      apiVersion: "keyward.dev/v1alpha1",
      kind: "ApiKey",
      metadata: { name: "reporting", namespace: "acme", uid: "uid-reporting" },
      spec: this.apiKeySpec,
    };
    const view = apiKeyForToken(apiKey, this.key.document, { ok: true, policy: this.key.policy });
    for (const t of this.tokens) {
      t.apiKey = view;
      t.bundle = this.bundle;
      await t.reconcile(now);
    }
    const doc = this.key.document;
    const plan = planBundle({
      tenant: "acme",
      issuer: ISSUER,
      now,
      apiKeys: [
        {
          name: "reporting",
          uid: "uid-reporting",
          deleting: false,
          suspended: this.apiKeySpec.suspended === true,
          policies: this.apiKeySpec.policies ?? [],
          revokedBefore: doc?.revokedBefore ?? null,
          allowNonExpiring: this.key.policy.allowNeverExpires,
          keys: doc === null ? [] : bundleKeysOf(doc, "reporting"),
        },
      ],
      accessPolicies: [{ name: "read", spec: { rules: [{ methods: ["GET"], paths: ["/api/v0/**"] }] } }],
      revocations: this.tokens.flatMap((t) => revocationsOf(t.accessToken, now)),
      current: this.configMap,
      record: this.configMap?.["bundle.json"] ?? null,
      trust: null,
    });
    if (!plan.ok) throw new Error(plan.message);
    if (plan.changed) this.configMap = { ...plan.data };
    this.bundle = plan.bundle;
  }

  /** The verifier's verdict on `token` at `now`: "ok" or the error code. */
  verify(token: string, now: Date, request = READ): string {
    if (this.bundle === null) throw new Error("no bundle yet");
    const result = this.verifier.verify(token, request, this.verifier.load(this.bundle), now.getTime());
    return result.ok ? "ok" : result.error.code;
  }
}

describe("tokens the controller issues, against the bundle it publishes", () => {
  it("verify, and are held to the ApiKey's policies", async () => {
    const tenant = new Tenant();
    const t = tenant.add();
    await tenant.reconcile(at(0));
    expect(tenant.verify(t.token(), at(M))).toBe("ok");
    expect(tenant.verify(t.token(), at(M), { method: "POST", path: "/api/v0/profiles" })).toBe("ERR_POLICY_DENIED");
  });

  it("keep verifying through a rotation, old tokens until the grace window ends", async () => {
    const tenant = new Tenant();
    const t = tenant.add();
    await tenant.reconcile(at(0));
    const first = t.token();

    await tenant.reconcile(at(720 * H)); // a prepared key is published
    expect(tenant.bundle?.keys.map((k) => k.state).sort()).toEqual(["active", "prepared"]);
    expect(t.token()).toBe(first);
    expect(tenant.verify(first, at(720 * H + M))).toBe("ok");

    await tenant.reconcile(at(720 * H + 5 * M)); // it activates; the token is re-issued with it
    const second = t.token();
    expect(second).not.toBe(first);
    expect(tenant.verify(second, at(720 * H + 6 * M))).toBe("ok");
    expect(tenant.verify(first, at(720 * H + 6 * M))).toBe("ok");

    await tenant.reconcile(at(744 * H + 5 * M)); // the grace window ends
    expect(tenant.verify(first, at(744 * H + 6 * M))).toBe("ERR_KEY_UNKNOWN");
    expect(tenant.verify(second, at(744 * H + 6 * M))).toBe("ok");
  });

  it("are refused once their AccessToken is revoked, and stay refused after it is deleted", async () => {
    const tenant = new Tenant();
    const t = tenant.add();
    const other = tenant.add();
    await tenant.reconcile(at(0));
    const token = t.token();
    t.setSpec({ revoked: true });
    await tenant.reconcile(at(H));
    expect(tenant.verify(token, at(H + M))).toBe("ERR_TOKEN_REVOKED");
    expect(tenant.verify(other.token(), at(H + M))).toBe("ok");

    t.accessToken = { ...t.accessToken, metadata: { ...t.accessToken.metadata, deletionTimestamp: "2026-03-01T02:00:00Z" } };
    await tenant.reconcile(at(2 * H));
    expect(t.outcomes.at(-1)?.finalizer).toBe("remove");
    tenant.tokens.splice(tenant.tokens.indexOf(t), 1); // the AccessToken is gone
    await tenant.reconcile(at(3 * H));
    expect(tenant.verify(token, at(3 * H + M))).toBe("ERR_TOKEN_REVOKED");
  });

  it("are refused after revokeAll, and their AccessTokens get working tokens again", async () => {
    const tenant = new Tenant();
    const t = tenant.add();
    await tenant.reconcile(at(0));
    const before = t.token();
    tenant.apiKeySpec = { ...tenant.apiKeySpec, revokeAll: "incident-7" };
    await tenant.reconcile(at(H));
    expect(tenant.verify(before, at(H + M))).toBe("ERR_KEY_UNKNOWN");
    expect(tenant.verify(t.token(), at(H + M))).toBe("ok");
  });

  it("are refused before a revocation cut-off, and re-issued after it", async () => {
    const tenant = new Tenant();
    const t = tenant.add();
    await tenant.reconcile(at(0));
    const before = t.token();
    tenant.apiKeySpec = { ...tenant.apiKeySpec, revokeIssuedBefore: "2026-03-01T01:00:00Z" };
    await tenant.reconcile(at(H));
    expect(tenant.verify(before, at(H + M))).toBe("ERR_TOKEN_ISSUED_BEFORE_REVOCATION");
    expect(tenant.verify(t.token(), at(H + M))).toBe("ok");
  });

  it("are refused while their ApiKey is suspended", async () => {
    const tenant = new Tenant();
    const t = tenant.add();
    await tenant.reconcile(at(0));
    tenant.apiKeySpec = { ...tenant.apiKeySpec, suspended: true };
    await tenant.reconcile(at(H));
    expect(tenant.verify(t.token(), at(H + M))).toBe("ERR_API_KEY_SUSPENDED");
  });

  it("are refused after dropDeposed when signed by the deposed key", async () => {
    const tenant = new Tenant();
    const t = tenant.add();
    await tenant.reconcile(at(0));
    const first = t.token();
    tenant.apiKeySpec = { ...tenant.apiKeySpec, rotate: "r1" };
    await tenant.reconcile(at(H));
    await tenant.reconcile(at(H + 5 * M));
    expect(tenant.verify(first, at(H + 6 * M))).toBe("ok");
    tenant.apiKeySpec = { ...tenant.apiKeySpec, dropDeposed: "d1" };
    await tenant.reconcile(at(2 * H));
    expect(tenant.verify(first, at(2 * H + M))).toBe("ERR_KEY_UNKNOWN");
    expect(tenant.verify(t.token(), at(2 * H + M))).toBe("ok");
  });
});
