// Authz mode end to end, in each proxy's header convention.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISSUER, makeFixture, TENANT, TestClock, type Fixture } from "./support/fixture.ts";
import { bearer, send, startTestVerifier, type TestVerifier } from "./support/http.ts";

let fx: Fixture;
let token: string;
let withPrefix: TestVerifier;
let plain: TestVerifier;
const clock = new TestClock();

beforeAll(async () => {
  fx = await makeFixture();
  token = await fx.token();
  withPrefix = await startTestVerifier({ args: ["--mode", "authz", "--authz-path-prefix", "/ext-authz"], bundleText: fx.bundleText(), deps: { now: clock.now } });
  plain = await startTestVerifier({ args: ["--mode", "authz"], bundleText: fx.bundleText(), deps: { now: clock.now } });
});

afterAll(async () => {
  await withPrefix.stop();
  await plain.stop();
});

function expectAllowed(r: { status: number; headers: Record<string, unknown>; body: string }): void {
  expect(r.status).toBe(200);
  expect(r.headers["x-keyward-api-key"]).toBe("reporting");
  expect(r.headers["x-keyward-tenant"]).toBe(TENANT);
  expect(r.headers["x-keyward-token-id"]).toMatch(/^[A-Za-z0-9_-]+$/);
  expect(r.body).toBe("");
}

describe("authz mode: nginx auth_request (X-Original-Method, X-Original-URI)", () => {
  it("answers 200 with the identity headers for an allowed request", async () => {
    const r = await send(plain.port, { path: "/auth", headers: { ...bearer(token), "x-original-method": "GET", "x-original-uri": "/api/v0/items?page=2" } });
    expectAllowed(r);
  });

  it("answers 403 with a bearer challenge when the policies deny the original request", async () => {
    const r = await send(plain.port, { path: "/auth", headers: { ...bearer(token), "x-original-method": "DELETE", "x-original-uri": "/api/v0/items" } });
    expect(r.status).toBe(403);
    expect(r.headers["www-authenticate"]).toContain('error="insufficient_scope"');
    expect(r.headers["x-keyward-api-key"]).toBeUndefined();
  });

  it("answers 401 without an error attribute when there is no token", async () => {
    const r = await send(plain.port, { path: "/auth", headers: { "x-original-method": "GET", "x-original-uri": "/api/v0/items" } });
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toBe('Bearer realm="keyward"');
  });
});

describe("authz mode: Traefik forwardAuth (X-Forwarded-Method, X-Forwarded-Uri)", () => {
  it("answers 200 with the identity headers for an allowed request", async () => {
    const r = await send(plain.port, { path: "/", headers: { ...bearer(token), "x-forwarded-method": "POST", "x-forwarded-uri": "/api/v0/items", "x-forwarded-host": "api.example", "x-forwarded-proto": "https" } });
    expectAllowed(r);
  });

  it("answers 403 for a denied path", async () => {
    const r = await send(plain.port, { path: "/", headers: { ...bearer(token), "x-forwarded-method": "GET", "x-forwarded-uri": "/api/v0/admin/users" } });
    expect(r.status).toBe(403);
  });

  it("answers 400 for a path with an encoded slash", async () => {
    const r = await send(plain.port, { path: "/", headers: { ...bearer(token), "x-forwarded-method": "GET", "x-forwarded-uri": "/api/v0/a%2Fb" } });
    expect(r.status).toBe(400);
    expect(r.headers["www-authenticate"]).toContain('error="invalid_request"');
  });
});

describe("authz mode: Envoy ext_authz (the request's own method and path)", () => {
  it("checks the path less the configured prefix", async () => {
    expectAllowed(await send(withPrefix.port, { method: "HEAD", path: "/ext-authz/api/v0/items", headers: bearer(token) }));
    expect((await send(withPrefix.port, { method: "GET", path: "/ext-authz/api/v0/admin/users", headers: bearer(token) })).status).toBe(403);
  });

  it("takes the request path as it is without a prefix", async () => {
    expectAllowed(await send(plain.port, { method: "GET", path: "/api/v0/items", headers: bearer(token) }));
    expect((await send(plain.port, { method: "PUT", path: "/api/v0/items", headers: bearer(token) })).status).toBe(403);
  });

  it("answers 400 to a path outside the configured prefix", async () => {
    const r = await send(withPrefix.port, { path: "/api/v0/items", headers: bearer(token) });
    expect(r.status).toBe(400);
  });

  it("refuses a client header that names another path than the one Envoy asks about", async () => {
    const r = await send(withPrefix.port, { path: "/ext-authz/api/v0/admin/users", headers: { ...bearer(token), "x-original-uri": "/api/v0/items" } });
    expect(r.status).toBe(400);
  });
});

describe("authz mode: ambiguous requests", () => {
  it("refuses two conventions that disagree", async () => {
    const r = await send(plain.port, {
      path: "/auth",
      headers: { ...bearer(token), "x-original-method": "GET", "x-original-uri": "/api/v0/items", "x-forwarded-method": "GET", "x-forwarded-uri": "/api/v0/admin/users" },
    });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: "invalid_request" });
  });

  it("accepts two conventions that agree", async () => {
    const r = await send(plain.port, {
      path: "/auth",
      headers: { ...bearer(token), "x-original-method": "GET", "x-original-uri": "/api/v0/items?a=1", "x-forwarded-method": "GET", "x-forwarded-uri": "/api/v0/items" },
    });
    expectAllowed(r);
  });

  it("refuses an original URI that is not a path", async () => {
    const r = await send(plain.port, { path: "/auth", headers: { ...bearer(token), "x-original-uri": "https://elsewhere/api/v0/items" } });
    expect(r.status).toBe(400);
  });

  it("answers the identity it computed, never one the client sent", async () => {
    const r = await send(plain.port, { path: "/api/v0/items", headers: { ...bearer(token), "x-keyward-api-key": "admin" } });
    expect(r.headers["x-keyward-api-key"]).toBe("reporting");
  });
});

describe("authz mode without a bundle", () => {
  it("answers 503 to every request", async () => {
    const empty = await startTestVerifier({ args: ["--mode", "authz"], bundleText: null, deps: { now: clock.now } });
    try {
      const r = await send(empty.port, { path: "/api/v0/items", headers: bearer(token) });
      expect(r.status).toBe(503);
      expect(r.headers["x-keyward-api-key"]).toBeUndefined();
    } finally {
      await empty.stop();
    }
  });
});

describe("authz mode: the shared issuer of token format v1", () => {
  it("accepts a token with the shared iss by default, and refuses it with ERR_ISSUER_RETIRED under --shared-issuer-window 0", async () => {
    const shared = await fx.token({ issuer: ISSUER });
    const headers = { ...bearer(shared), "x-original-method": "GET", "x-original-uri": "/api/v0/items" };
    expectAllowed(await send(plain.port, { path: "/auth", headers }));
    const strict = await startTestVerifier({ args: ["--mode", "authz", "--shared-issuer-window", "0"], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      const r = await send(strict.port, { path: "/auth", headers });
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toMatchObject({ code: "ERR_ISSUER_RETIRED" });
      expect(r.headers["www-authenticate"]).toContain('error_description="the token carries the retired shared issuer; get a new token"');
      expectAllowed(await send(strict.port, { path: "/auth", headers: { ...headers, ...bearer(token) } }));
    } finally {
      await strict.stop();
    }
  });
});
