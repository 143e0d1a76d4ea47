// keyward end to end (hack/dev e2e on a local node, or hack/kind-e2e.sh): the controller from config/default,
// the samples of config/samples, and the echo workload behind the verifier sidecar of
// config/verifier (test/e2e/echo/configmap). Requests go through a port-forward to the echo
// Service, so through the verifier exactly as in-cluster clients' requests do.
import { beforeAll, describe, expect, it } from "vitest";
import type { ApiKey } from "../../src/api/index.ts";
import { Resources } from "../../src/kube/index.ts";
import { apiKey, call, e2eEnv, eventually, issuedToken, kidOf, type E2EEnv } from "./support.ts";

let e: E2EEnv;
const API = "keyward.dev/v1alpha1";
const READ = "/api/v0/profiles/42";

beforeAll(async () => {
  e = e2eEnv();
  const ns = e.namespace;
  // A rotation policy that activates a new key after 10 s instead of the default's 5 minutes.
  await e.client.apply(Resources.rotationPolicies, {
    apiVersion: API,
    kind: "RotationPolicy",
    metadata: { name: "e2e-fast", namespace: ns },
    spec: { schedule: { every: "720h" }, prePublish: "10s", grace: "1h", defaultTokenLifetime: "1h", maxTokenLifetime: "24h" },
  });
  for (const name of ["e2e-rotate", "e2e-revoke-one", "e2e-revoke-all"]) {
    await e.client.apply(Resources.apiKeys, {
      apiVersion: API,
      kind: "ApiKey",
      metadata: { name, namespace: ns },
      spec: { rotationPolicyRef: { kind: "RotationPolicy", name: "e2e-fast" }, policies: ["profile-api-read"] },
    });
    await e.client.apply(Resources.accessTokens, {
      apiVersion: API,
      kind: "AccessToken",
      metadata: { name, namespace: ns },
      spec: { apiKeyName: name, lifetime: "1h" },
    });
  }
});

/** A token that the verifier already accepts (its key has reached the verifier's bundle). */
async function acceptedToken(name: string): Promise<string> {
  const token = await issuedToken(e, name);
  await eventually(`the verifier to accept the token of ${name}`, async () => (await call(e, "GET", READ, token)).status === 200);
  return token;
}

describe("the verifier in front of a workload", () => {
  it("answers 401 with a Bearer challenge to a request without a token", async () => {
    const r = await call(e, "GET", READ);
    expect(r.status).toBe(401);
    expect(r.wwwAuthenticate).toMatch(/^Bearer/);
  });

  it("passes a request with a valid token within the key's policies, with the identity added and the token removed", async () => {
    const token = await acceptedToken("profile-api-read");
    const r = await call(e, "GET", READ, token);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ method: "GET", path: READ, apiKey: "profile-api-read", tenant: e.namespace, authorization: "absent" });
  });

  it("answers 403 to a valid token outside the key's policies", async () => {
    const token = await acceptedToken("profile-api-read");
    const r = await call(e, "POST", "/api/v0/streams/clicks/records", token);
    expect(r.status).toBe(403);
    expect(r.wwwAuthenticate).toContain('error="insufficient_scope"');
  });

  it("answers 401 to a token that is not well formed", async () => {
    expect((await call(e, "GET", READ, "not-a-jwt")).status).toBe(401);
  });
});

describe("key rotation", () => {
  it("keeps tokens of the old key valid while tokens of the new key are valid too", async () => {
    const before = await acceptedToken("e2e-rotate");
    const oldKid = kidOf(before);
    await e.client.mergePatch(Resources.apiKeys, { name: "e2e-rotate", namespace: e.namespace }, { spec: { rotate: new Date().toISOString() } });
    const newKid = await eventually("the new key to become active", async () => {
      const active = (await apiKey(e, "e2e-rotate")).status?.activeKid;
      return active !== undefined && active !== oldKid ? active : undefined;
    });
    const after = await issuedToken(e, "e2e-rotate", { kid: newKid, not: before });
    await eventually("the verifier to accept the token of the new key", async () => (await call(e, "GET", READ, after)).status === 200);
    expect((await call(e, "GET", READ, before)).status).toBe(200);
    const key: ApiKey = await apiKey(e, "e2e-rotate");
    expect(key.status?.keys?.find((k) => k.kid === oldKid)?.state).toBe("deposed");
  });
});

describe("revocation", () => {
  it(`refuses a revoked token within the revocation deadline (KEYWARD_E2E_REVOCATION_DEADLINE_MS, default 1 s)`, async () => {
    const token = await acceptedToken("e2e-revoke-one");
    await e.client.mergePatch(Resources.accessTokens, { name: "e2e-revoke-one", namespace: e.namespace }, { spec: { revoked: true } });
    const start = Date.now();
    const refused = await eventually(
      "the verifier to refuse the revoked token",
      async () => {
        const r = await call(e, "GET", READ, token);
        return r.status === 401 ? r : undefined;
      },
      e.revocationDeadlineMs,
      50,
    );
    process.stderr.write(`[e2e] a revoked token was refused ${Date.now() - start} ms after spec.revoked was set\n`);
    // Refused because it is revoked, not for any other reason a 401 could have.
    expect(JSON.parse(refused.body)).toMatchObject({ code: "ERR_TOKEN_REVOKED" });
    expect(refused.wwwAuthenticate).toContain('error="invalid_token"');
  });

  it("refuses every old token after revoke-all, and accepts the token re-issued with the new key", async () => {
    const old = await acceptedToken("e2e-revoke-all");
    await e.client.mergePatch(Resources.apiKeys, { name: "e2e-revoke-all", namespace: e.namespace }, { spec: { revokeAll: new Date().toISOString() } });
    await eventually("the verifier to refuse the old token", async () => (await call(e, "GET", READ, old)).status === 401, 30_000, 100);
    const newKid = await eventually("a new active key", async () => {
      const active = (await apiKey(e, "e2e-revoke-all")).status?.activeKid;
      return active !== undefined && active !== kidOf(old) ? active : undefined;
    });
    const reissued = await issuedToken(e, "e2e-revoke-all", { kid: newKid, not: old });
    await eventually("the verifier to accept the re-issued token", async () => (await call(e, "GET", READ, reissued)).status === 200, 30_000);
    expect((await call(e, "GET", READ, old)).status).toBe(401);
  });
});
