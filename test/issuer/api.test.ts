import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_VERSION } from "../../src/api/types.generated.ts";
import { TokenVerifier, parseBundle } from "../../src/token/index.ts";
import { decoded, ISSUER, World } from "./support/fixture.ts";

let w: World;
const sent: string[] = [];

beforeAll(async () => {
  w = await World.start({ rateLimit: { burst: 1000 } });
  await w.tenant("acme", [
    { name: "workflow", policies: ["token-issuer"] },
    { name: "reader", policies: ["read"] },
    { name: "reporting", policies: ["read"] },
    { name: "paused", policies: ["read"], suspended: true },
    { name: "pending", policies: ["read"], ready: false },
    { name: "fast", policies: ["read"], rotationPolicyRef: { kind: "RotationPolicy", name: "short" } },
  ]);
  w.cache.rotationPolicies.put({
    apiVersion: API_VERSION,
    kind: "RotationPolicy",
    metadata: { name: "short", namespace: "acme" },
    spec: { schedule: { every: "24h" }, defaultTokenLifetime: "1h", maxTokenLifetime: "2h" },
  });
  await w.tenant("beta", [{ name: "workflow", policies: ["token-issuer"] }]);
});

afterAll(async () => {
  await w.stop();
});

function callerToken(tenant = "acme", apiKey = "workflow", opts: { atMs?: number; lifetimeSeconds?: number; jti?: string } = {}): string {
  const t = w.token(tenant, apiKey, opts);
  sent.push(t);
  return t;
}

async function issue(...args: Parameters<World["issue"]>): ReturnType<World["issue"]> {
  const r = await w.issue(...args);
  if (typeof r.json.access_token === "string") sent.push(r.json.access_token);
  return r;
}

describe("POST /api/v0/admin/api-keys/{apiKey}/tokens", () => {
  it("issues a token for the target ApiKey to a caller whose policy allows the POST, and records it first", async () => {
    const r = await issue("acme", "reporting", callerToken());
    expect(r.status).toBe(201);
    expect(Object.keys(r.json).sort()).toEqual(["access_token", "expires_at", "jti", "token_type"]);
    expect(r.json.token_type).toBe("Bearer");
    const token = r.json.access_token as string;
    sent.push(token);
    const { header, claims } = decoded(token);
    expect(header).toMatchObject({ typ: "at+jwt", kid: w.key("acme", "reporting").kid });
    expect(claims).toMatchObject({ iss: `${ISSUER}/acme`, sub: "reporting", client_id: "reporting", aud: "acme", jti: r.json.jti });
    expect(claims.exp! - claims.iat).toBe(24 * 3600);
    expect(r.json.expires_at).toBe(new Date(claims.exp! * 1000).toISOString().replace(".000Z", "Z"));

    const verifier = new TokenVerifier();
    const bundle = verifier.load(parseBundle(w.cache.configMaps.get("acme", "keyward-bundle")?.data?.["bundle.json"] ?? ""));
    const check = verifier.verify(token, { method: "GET", path: "/api/v0/items" }, bundle, w.clock.now());
    expect(check.ok).toBe(true);

    const record = w.store.records.find((x) => x.spec.jti === r.json.jti);
    expect(record?.spec).toMatchObject({ apiKeyName: "reporting", kid: header.kid, issuedBy: "ApiKey acme/workflow", revoked: false });
    expect(record?.metadata.ownerReferences?.[0]).toMatchObject({ kind: "ApiKey", name: "reporting", uid: "uid-acme-reporting" });
    expect(w.events.events).toContainEqual(expect.objectContaining({ kind: "ApiKey", name: "reporting", reason: "TokenIssued" }));
    expect(w.logs.entries()).toContainEqual(expect.objectContaining({ audit: "token_issued", apiKey: "reporting", jti: r.json.jti, kid: header.kid, issuedBy: "ApiKey acme/workflow" }));
  });

  it("refuses a caller whose policies do not allow the POST with 403 insufficient_scope", async () => {
    const r = await issue("acme", "reporting", callerToken("acme", "reader"));
    expect(r.status).toBe(403);
    expect(r.json.error).toBe("ERR_POLICY_DENIED");
    expect(r.headers["www-authenticate"]).toBe('Bearer error="insufficient_scope"');
  });

  it("refuses a caller whose policies allow the POST only in a keyward-bundle ConfigMap edited in the tenant, and uses keyward's record", async () => {
    // A namespace editor can write keyward-bundle: here it gives the reader the workflow key's policies.
    const cm = w.cache.configMaps.get("acme", "keyward-bundle");
    const edited = JSON.parse(cm?.data?.["bundle.json"] ?? "") as { apiKeys: Record<string, { policies: string[] }> };
    const reader = edited.apiKeys.reader;
    const workflow = edited.apiKeys.workflow;
    if (cm === undefined || reader === undefined || workflow === undefined) throw new Error("the fixture has no bundle for acme");
    reader.policies = workflow.policies;
    w.cache.configMaps.put({ ...cm, data: { ...cm.data, "bundle.json": JSON.stringify(edited) } });
    try {
      const r = await issue("acme", "reporting", callerToken("acme", "reader"));
      expect(r.status).toBe(403);
      expect(r.json.error).toBe("ERR_POLICY_DENIED");
    } finally {
      w.cache.configMaps.put(cm);
    }
  });

  it("refuses a caller token of another tenant with 401", async () => {
    const r = await issue("beta", "workflow", callerToken("acme", "workflow"));
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
    expect(r.json.error).toBe("ERR_KEY_UNKNOWN");
  });

  it("refuses a tenant without a bundle with 401, and a missing tenant header with 400", async () => {
    expect((await issue("nobody", "reporting", callerToken())).json.error).toBe("ERR_TENANT_UNKNOWN");
    const r = await w.request("/api/v0/admin/api-keys/reporting/tokens", { method: "POST", headers: { authorization: `Bearer ${callerToken()}` } });
    expect(r.status).toBe(400);
    expect(r.json.error).toBe("ERR_TENANT_HEADER");
  });

  it("refuses an expired issuer token and a revoked one with 401", async () => {
    const expired = callerToken("acme", "workflow", { atMs: w.clock.now() - 7200_000, lifetimeSeconds: 3600 });
    const r1 = await issue("acme", "reporting", expired);
    expect([r1.status, r1.json.error]).toEqual([401, "ERR_TOKEN_EXPIRED"]);

    const revoked = callerToken("acme", "workflow", { jti: "cmV2b2tlZC1pc3N1ZXI" });
    expect((await issue("acme", "reporting", revoked)).status).toBe(201);
    w.publish("acme", [{ jti: "cmV2b2tlZC1pc3N1ZXI", apiKey: "workflow", exp: Math.floor(w.clock.now() / 1000) + 3600 }]);
    const r2 = await issue("acme", "reporting", revoked);
    expect([r2.status, r2.json.error]).toEqual([401, "ERR_TOKEN_REVOKED"]);
    w.publish("acme", []);
  });

  it("issues until the requested expires-at, in whole seconds", async () => {
    const at = new Date(w.clock.now() + 3 * 3600_000).toISOString();
    const r = await issue("acme", "reporting", callerToken(), { "expires-at": at });
    expect(r.status).toBe(201);
    expect(decoded(r.json.access_token as string).claims.exp).toBe(Math.floor(Date.parse(at) / 1000));
  });

  it("refuses an expires-at beyond the policy's maxTokenLifetime with 400 naming the field, the bound and the policy", async () => {
    const at = new Date(w.clock.now() + 3 * 3600_000).toISOString();
    const r = await issue("acme", "fast", callerToken(), { "expires-at": at });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: "ERR_EXPIRES_AT", field: "expires-at" });
    expect(r.json.message).toMatch(/^expires-at: .* is beyond the maxTokenLifetime of 2h set by RotationPolicy acme\/short for ApiKey acme\/fast: ask for 2026-11-29T14:00:00Z or earlier/);
    const far = await issue("acme", "reporting", callerToken(), { "expires-at": "2027-12-01T00:00:00Z" });
    expect(far.json.message).toContain("maxTokenLifetime of 720h set by the built-in default policy");
  });

  it("uses the target's policy default lifetime when expires-at is absent", async () => {
    const r = await issue("acme", "fast", callerToken(), {});
    const { claims } = decoded(r.json.access_token as string);
    expect(claims.exp! - claims.iat).toBe(3600);
  });

  it("refuses an expires-at that is not RFC 3339, in the past, or not a string, and unknown fields", async () => {
    for (const body of [{ "expires-at": "tomorrow" }, { "expires-at": "2020-01-01T00:00:00Z" }, { "expires-at": 42 }]) {
      const r = await issue("acme", "reporting", callerToken(), body);
      expect([r.status, r.json.error, r.json.field], JSON.stringify(body)).toEqual([400, "ERR_EXPIRES_AT", "expires-at"]);
    }
    const r = await issue("acme", "reporting", callerToken(), { "expires_at": "2026-12-01T00:00:00Z" });
    expect([r.status, r.json.error]).toEqual([400, "ERR_REQUEST_BODY"]);
    const bad = await w.request("/api/v0/admin/api-keys/reporting/tokens", { method: "POST", headers: { authorization: `Bearer ${callerToken()}`, "x-keyward-tenant": "acme", "content-type": "application/json" }, body: "{" });
    expect([bad.status, bad.json.error]).toEqual([400, "ERR_REQUEST_BODY"]);
  });

  it("refuses a target that does not exist (404), is suspended or is not Ready (409), and issues nothing", async () => {
    const before = w.store.records.length;
    expect((await issue("acme", "ghost", callerToken())).status).toBe(404);
    const paused = await issue("acme", "paused", callerToken());
    expect([paused.status, paused.json.error]).toEqual([409, "ERR_API_KEY_NOT_READY"]);
    expect(paused.json.message).toContain("ApiKey acme/paused is suspended");
    const pending = await issue("acme", "pending", callerToken());
    expect(pending.json.message).toContain("ApiKey acme/pending is not Ready");
    expect(w.store.records.length).toBe(before);
  });

  it("answers 503 and hands out no token when the IssuedToken cannot be recorded", async () => {
    w.store.failNext = true;
    const r = await issue("acme", "reporting", callerToken());
    expect(r.status).toBe(503);
    expect(r.json.error).toBe("ERR_RECORD_FAILED");
    expect(r.body).not.toMatch(/eyJ/);
    expect(w.logs.entries()).toContainEqual(expect.objectContaining({ audit: "token_not_issued", apiKey: "reporting" }));
  });

  it("refuses a body over 16 KiB with 413", async () => {
    const r = await issue("acme", "reporting", callerToken(), { "expires-at": "x".repeat(17 * 1024) });
    expect([r.status, r.json.error]).toEqual([413, "ERR_BODY_TOO_LARGE"]);
  });

  it("answers 503 until the caches have synced, 404 off its routes and 405 for another method", async () => {
    w.cache.isSynced = false;
    try {
      expect((await issue("acme", "reporting", callerToken())).json.error).toBe("ERR_NOT_READY");
    } finally {
      w.cache.isSynced = true;
    }
    expect((await w.request("/api/v0/other")).status).toBe(404);
    const get = await w.request("/api/v0/admin/api-keys/reporting/tokens");
    expect([get.status, get.headers.allow]).toEqual([405, "POST"]);
  });

  it("never writes a token to its logs", () => {
    expect(sent.length).toBeGreaterThan(10);
    const text = w.logs.text();
    for (const t of sent) {
      expect(text).not.toContain(t);
      expect(text).not.toContain(t.split(".")[2]);
    }
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});
