import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, decoded, ISSUER, World } from "./support/fixture.ts";
import { newClientSecret } from "../../src/model/client-credentials.ts";

const SECRET = newClientSecret();
const OTHER_SECRET = newClientSecret();
let w: World;

beforeAll(async () => {
  w = await World.start({ rateLimit: { burst: 1000 } });
  await w.tenant("acme", [
    { name: "ingest", policies: ["read"], clientSecret: SECRET },
    { name: "paused", policies: ["read"], clientSecret: OTHER_SECRET, suspended: true },
    { name: "plain", policies: ["read"] },
  ]);
});

afterAll(async () => {
  await w.stop();
});

const grant = { grant_type: "client_credentials" };

describe("POST /oauth2/token, client credentials", () => {
  it("issues a token to a client authenticated with HTTP Basic, and records it", async () => {
    const r = await w.oauth(grant, { authorization: basic("acme/ingest", SECRET) });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    expect(r.json).toMatchObject({ token_type: "Bearer", expires_in: 86400 });
    expect(r.headers["cache-control"]).toBe("no-store");
    expect(r.headers.pragma).toBe("no-cache");
    const { claims } = decoded(r.json.access_token as string);
    expect(claims).toMatchObject({ iss: `${ISSUER}/acme`, sub: "ingest", aud: "acme" });
    expect(w.store.records.at(-1)?.spec).toMatchObject({ apiKeyName: "ingest", jti: claims.jti, issuedBy: "oauth2-client acme/ingest" });
    expect(w.logs.entries()).toContainEqual(expect.objectContaining({ audit: "token_issued", via: "oauth2", jti: claims.jti }));
  });

  it("issues a token to a client authenticated with form fields", async () => {
    const r = await w.oauth({ ...grant, client_id: "acme/ingest", client_secret: SECRET });
    expect(r.status).toBe(200);
  });

  it("answers invalid_client with 401 and WWW-Authenticate Basic for a wrong secret over Basic", async () => {
    const r = await w.oauth(grant, { authorization: basic("acme/ingest", OTHER_SECRET) });
    expect([r.status, r.json.error]).toEqual([401, "invalid_client"]);
    expect(r.headers["www-authenticate"]).toBe('Basic realm="keyward", charset="UTF-8"');
  });

  it("answers invalid_client without WWW-Authenticate for a wrong secret in the form, an unknown client, or a key without client credentials", async () => {
    for (const form of [
      { client_id: "acme/ingest", client_secret: "nope" },
      { client_id: "acme/ghost", client_secret: SECRET },
      { client_id: "acme/plain", client_secret: SECRET },
      { client_id: "not-a-client-id", client_secret: SECRET },
    ]) {
      const r = await w.oauth({ ...grant, ...form });
      expect([r.status, r.json.error, r.headers["www-authenticate"]], form.client_id).toEqual([401, "invalid_client", undefined]);
    }
  });

  it("answers invalid_client when no client authentication is sent", async () => {
    const r = await w.oauth(grant);
    expect([r.status, r.json.error]).toEqual([401, "invalid_client"]);
  });

  it("answers invalid_request for two authentication methods, a repeated parameter, a missing grant_type or a non-form body", async () => {
    const both = await w.oauth({ ...grant, client_id: "acme/ingest", client_secret: SECRET }, { authorization: basic("acme/ingest", SECRET) });
    expect([both.status, both.json.error]).toEqual([400, "invalid_request"]);
    const twice = await w.request("/oauth2/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic("acme/ingest", SECRET) },
      body: "grant_type=client_credentials&grant_type=client_credentials",
    });
    expect([twice.status, twice.json.error]).toEqual([400, "invalid_request"]);
    const missing = await w.oauth({}, { authorization: basic("acme/ingest", SECRET) });
    expect([missing.status, missing.json.error]).toEqual([400, "invalid_request"]);
    const json = await w.request("/oauth2/token", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect([json.status, json.json.error]).toEqual([400, "invalid_request"]);
  });

  it("answers unsupported_grant_type for another grant", async () => {
    const r = await w.oauth({ grant_type: "password", username: "a", password: "b" }, { authorization: basic("acme/ingest", SECRET) });
    expect([r.status, r.json.error]).toEqual([400, "unsupported_grant_type"]);
  });

  it("answers invalid_scope when a scope is asked for, since policies decide what a token may do", async () => {
    const r = await w.oauth({ ...grant, scope: "read" }, { authorization: basic("acme/ingest", SECRET) });
    expect([r.status, r.json.error]).toEqual([400, "invalid_scope"]);
  });

  it("answers invalid_grant for a suspended ApiKey", async () => {
    const r = await w.oauth(grant, { authorization: basic("acme/paused", OTHER_SECRET) });
    expect([r.status, r.json.error]).toEqual([400, "invalid_grant"]);
    expect(r.json.error_description).toContain("ApiKey acme/paused is suspended");
  });

  it("never writes a client secret or a token to its logs", () => {
    const text = w.logs.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(OTHER_SECRET);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });
});

describe("failed attempts", () => {
  it("throttles a client after its burst of failures with 429 and Retry-After, even with the right secret, until the bucket refills", async () => {
    const t = await World.start({ rateLimit: { burst: 3, refillMs: 10_000 } });
    try {
      await t.tenant("acme", [{ name: "ingest", policies: ["read"], clientSecret: SECRET }]);
      for (let i = 0; i < 3; i++) expect((await t.oauth(grant, { authorization: basic("acme/ingest", "wrong") })).status).toBe(401);
      const limited = await t.oauth(grant, { authorization: basic("acme/ingest", SECRET) });
      expect(limited.status).toBe(429);
      expect(limited.headers["retry-after"]).toBe("10");
      await t.clock.advance(10_000);
      expect((await t.oauth(grant, { authorization: basic("acme/ingest", SECRET) })).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it("throttles a source address that fails on the issuer API", async () => {
    const t = await World.start({ rateLimit: { burst: 2, refillMs: 30_000 } });
    try {
      await t.tenant("acme", [{ name: "workflow", policies: ["token-issuer"] }, { name: "reporting", policies: ["read"] }]);
      for (let i = 0; i < 2; i++) expect((await t.issue("acme", "reporting", "not-a-token")).status).toBe(401);
      const limited = await t.issue("acme", "reporting", t.token("acme", "workflow"));
      expect([limited.status, limited.json.error, limited.headers["retry-after"]]).toEqual([429, "ERR_RATE_LIMITED", "30"]);
      await t.clock.advance(30_000);
      expect((await t.issue("acme", "reporting", t.token("acme", "workflow"))).status).toBe(201);
    } finally {
      await t.stop();
    }
  });
});
