import { request } from "node:https";
import { createRemoteJWKSet, customFetch, jwtVerify, type FetchImplementation } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../src/controlplane/ports.ts";
import { algorithmsOf } from "../../src/issuer/discovery.ts";
import { decoded, ISSUER, World } from "./support/fixture.ts";

let w: World;
let publicUrl: string;

/** A fetch for jose that trusts only the test CA (node:https, no global agent). */
function trustingFetch(caPem: string): FetchImplementation {
  return (url, options) =>
    new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string> = {};
      options.headers.forEach((v, k) => { headers[k] = v; });
      const req = request(url, { method: options.method, headers, ca: caPem, agent: false, signal: options.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: h }));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
}

beforeAll(async () => {
  const [port] = await freePorts(1);
  publicUrl = `https://127.0.0.1:${String(port)}`;
  w = await World.start({ listen: { host: "127.0.0.1", port: port ?? 0 }, publicUrl });
  await w.tenant("acme", [{ name: "workflow", policies: ["token-issuer"] }, { name: "reporting", policies: ["read"] }]);
  await w.tenant("beta", [{ name: "reporting", policies: ["read"] }]);
});

afterAll(async () => {
  await w.stop();
});

describe("discovery", () => {
  it("serves the tenant's openid-configuration: the tenant's issuer, its jwks_uri and the token endpoint", async () => {
    const r = await w.request("/acme/.well-known/openid-configuration");
    expect(r.status).toBe(200);
    expect(r.headers["cache-control"]).toBe("public, max-age=60");
    expect(r.json).toMatchObject({
      issuer: `${ISSUER}/acme`,
      jwks_uri: `${publicUrl}/acme/.well-known/jwks.json`,
      token_endpoint: `${publicUrl}/oauth2/token`,
      grant_types_supported: ["client_credentials"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      audience: "acme",
    });
  });

  it("serves exactly the bundle's jwks.json, for 60 seconds", async () => {
    const r = await w.request("/acme/.well-known/jwks.json");
    expect(r.status).toBe(200);
    expect(r.body).toBe(w.cache.configMaps.get("acme", "keyward-bundle")?.data?.["jwks.json"]);
    expect(r.headers["content-type"]).toBe("application/jwk-set+json");
    expect(r.headers["cache-control"]).toBe("public, max-age=60");
    expect((await w.request("/nobody/.well-known/jwks.json")).status).toBe(404);
  });

  it("lets jose's createRemoteJWKSet and jwtVerify accept an issued token with the discovery document's issuer and the tenant as audience", async () => {
    const issued = await w.issue("acme", "reporting", w.token("acme", "workflow"));
    expect(issued.status).toBe(201);
    const token = issued.json.access_token as string;
    const doc = (await w.request("/acme/.well-known/openid-configuration")).json as { issuer: string; jwks_uri: string };
    const jwks = createRemoteJWKSet(new URL(doc.jwks_uri), { [customFetch]: trustingFetch(w.ca.certPem) });
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: doc.issuer, audience: "acme", typ: "at+jwt", algorithms: ["EdDSA", "ES256", "RS256"], currentDate: new Date(w.clock.now()) });
    expect(payload.sub).toBe("reporting");
    expect(protectedHeader.alg).toBe("EdDSA");
  });

  it("serves the keys of keyward's record, never a key added to the tenant's keyward-bundle ConfigMap", async () => {
    const cm = w.cache.configMaps.get("acme", "keyward-bundle");
    if (cm === undefined) throw new Error("the fixture has no bundle for acme");
    const served = (await w.request("/acme/.well-known/jwks.json")).body;
    const jwks = JSON.parse(cm.data?.["jwks.json"] ?? "") as { keys: Record<string, unknown>[] };
    jwks.keys.push({ ...jwks.keys[0], kid: "added-by-an-editor" });
    w.cache.configMaps.put({ ...cm, data: { ...cm.data, "jwks.json": JSON.stringify(jwks) } });
    try {
      const r = await w.request("/acme/.well-known/jwks.json");
      expect(r.body).toBe(served);
      expect(r.body).not.toContain("added-by-an-editor");
    } finally {
      w.cache.configMaps.put(cm);
    }
  });

  it("keeps tenants apart: another tenant's JWKS does not verify the token", async () => {
    const token = w.token("acme", "reporting");
    const doc = (await w.request("/beta/.well-known/openid-configuration")).json as { issuer: string; jwks_uri: string };
    const jwks = createRemoteJWKSet(new URL(doc.jwks_uri), { [customFetch]: trustingFetch(w.ca.certPem) });
    await expect(jwtVerify(token, jwks, { issuer: doc.issuer, audience: "beta", currentDate: new Date(w.clock.now()) })).rejects.toThrow();
  });

  it("names as issuer exactly the iss of the tenant's tokens, so strict discovery of {iss}/.well-known/openid-configuration holds", async () => {
    const issued = await w.issue("acme", "reporting", w.token("acme", "workflow"));
    const iss = decoded(issued.json.access_token as string).claims.iss;
    expect(iss).toBe(`${ISSUER}/acme`);
    const doc = (await w.request(`${new URL(iss).pathname}/.well-known/openid-configuration`)).json as { issuer: string };
    expect(doc.issuer).toBe(iss);
  });

  it("lists as signing algorithms those of the tenant's keys only", async () => {
    await w.tenant("mixed", [{ name: "ed", policies: ["read"] }, { name: "rsa", policies: ["read"], alg: "RS256" }]);
    const doc = (await w.request("/mixed/.well-known/openid-configuration")).json;
    expect(doc.id_token_signing_alg_values_supported).toEqual(["EdDSA", "RS256"]);
    expect(doc.access_token_signing_alg_values_supported).toEqual(["EdDSA", "RS256"]);
    expect((await w.request("/acme/.well-known/openid-configuration")).json.id_token_signing_alg_values_supported).toEqual(["EdDSA"]);
  });
});

describe("algorithmsOf", () => {
  it("gives the algorithms of a JWK Set's keys in a fixed order, and none for text that is no JWK Set", () => {
    expect(algorithmsOf(JSON.stringify({ keys: [{ alg: "RS256" }, { alg: "ES256" }, { alg: "RS256" }, { alg: "HS256" }, null] }))).toEqual(["ES256", "RS256"]);
    expect(algorithmsOf("{")).toEqual([]);
    expect(algorithmsOf(JSON.stringify({ keys: {} }))).toEqual([]);
  });
});
