// The recipes of docs/integrations.md, run: third-party verifiers against the real
// token service (strict OpenID Connect discovery under each tenant's issuer) and, for
// nginx auth_request, the keyward verifier in authz mode. Each gets a valid EdDSA
// token of tenant acme (accepted), a forged one (its claims changed under the original
// signature) and one of tenant beta (refused); nginx, in front of the verifier, also a
// revoked one. The tools are built by hack/interop-tools.sh and cached in .cache/test-tools.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../../src/controlplane/ports.ts";
import { decoded, World } from "../../issuer/support/fixture.ts";
import { startTestVerifier, startUpstream, type TestVerifier, type Upstream } from "../../verifier/support/http.ts";
import { get, INTEROP_SCRIPT_DIR, interopTools, run, startServer, type InteropTools, type Server } from "./support.ts";

const SECRET = "interop-client-secret-0123456789";
let tools: InteropTools;
let w: World;
let base: string;
let ca: string;
const iss = (tenant: string): string => `${base}/${tenant}`;
let valid: string;
let forged: string;
let otherTenant: string;
let revoked: string;
const servers: Server[] = [];

async function issued(tenant: string): Promise<string> {
  const r = await w.issue(tenant, "reporting", w.token(tenant, "workflow"));
  if (r.status !== 201) throw new Error(`issuing for ${tenant}: ${r.status} ${r.body}`);
  return r.json.access_token as string;
}

/** The token with `sub` changed, under its original header and signature. */
function forge(token: string): string {
  const [header, , signature] = token.split(".");
  const { claims } = decoded(token);
  return `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: "workflow", client_id: "workflow" })).toString("base64url")}.${signature}`;
}

beforeAll(async () => {
  tools = interopTools();
  const [port] = await freePorts(1);
  base = `https://127.0.0.1:${String(port)}`;
  // Third-party verifiers read the system clock: the token service's clock starts there.
  w = await World.start({ listen: { host: "127.0.0.1", port: port ?? 0 }, issuer: base }, Math.floor(Date.now() / 1000) * 1000);
  ca = join(w.dir, "ca.crt");
  await writeFile(ca, w.ca.certPem);
  for (const tenant of ["acme", "beta"]) {
    await w.tenant(tenant, [{ name: "workflow", policies: ["token-issuer"] }, { name: "reporting", policies: ["read"], clientSecret: SECRET }]);
  }
  valid = await issued("acme");
  forged = forge(valid);
  otherTenant = await issued("beta");
  revoked = await issued("acme");
  const { claims } = decoded(revoked);
  w.publish("acme", [{ jti: claims.jti, apiKey: "reporting", exp: claims.exp ?? null }]);
}, 900_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  await w.stop();
});

describe("the token service's discovery, as strict clients need it", () => {
  it("serves {iss}/.well-known/openid-configuration naming exactly the iss of the tenant's tokens", async () => {
    expect(decoded(valid).claims.iss).toBe(iss("acme"));
    const doc = (await w.request("/acme/.well-known/openid-configuration")).json;
    expect(doc).toMatchObject({ issuer: iss("acme"), jwks_uri: `${iss("acme")}/.well-known/jwks.json`, id_token_signing_alg_values_supported: ["EdDSA"] });
  });
});

describe("go-oidc NewProvider(iss) + Verifier, and x/oauth2 client credentials", () => {
  const verify = async (issuer: string, token: string): Promise<{ ok: boolean; stage?: string; error?: string; subject?: string }> =>
    JSON.parse(await run(tools.oidcClient, [`-issuer=${issuer}`, "-audience=acme", `-ca=${ca}`], token)) as { ok: boolean };

  it("accepts a valid EdDSA token", async () => {
    expect(await verify(iss("acme"), valid)).toMatchObject({ ok: true, subject: "reporting" });
  });

  it("refuses a forged token", async () => {
    expect(await verify(iss("acme"), forged)).toMatchObject({ ok: false, stage: "verify", error: expect.stringContaining("signature") as string });
  });

  it("refuses a token of another tenant", async () => {
    expect(await verify(iss("acme"), otherTenant)).toMatchObject({ ok: false, stage: "verify" });
  });

  it("fails discovery under the configured issuer without the tenant, where no document is served", async () => {
    expect(await verify(base, valid)).toMatchObject({ ok: false, stage: "discovery" });
  });

  it("gets a token with x/oauth2 clientcredentials from the discovered token endpoint, and verifies it", async () => {
    const out = JSON.parse(await run(tools.oidcClient, [`-issuer=${iss("acme")}`, "-audience=acme", `-ca=${ca}`, "-client-id=acme/reporting", `-client-secret=${SECRET}`], "")) as unknown;
    expect(out).toMatchObject({ ok: true, subject: "reporting", fetched: true });
  });
});

describe("PyJWT and authlib with strict discovery", () => {
  const verify = async (token: string): Promise<Record<string, { ok: boolean; error?: string; sub?: string }>> =>
    JSON.parse(await run(tools.python, [join(INTEROP_SCRIPT_DIR, "python-client", "verify.py"), iss("acme"), "acme", ca], token)) as Record<string, { ok: boolean }>;

  it("accepts a valid EdDSA token", async () => {
    expect(await verify(valid)).toEqual({ pyjwt: { ok: true, sub: "reporting" }, authlib: { ok: true, sub: "reporting" } });
  });

  it("refuses a forged token", async () => {
    const r = await verify(forged);
    expect(r.pyjwt).toMatchObject({ ok: false, error: expect.stringContaining("InvalidSignatureError") as string });
    expect(r.authlib).toMatchObject({ ok: false, error: expect.stringContaining("BadSignatureError") as string });
  });

  it("refuses a token of another tenant", async () => {
    const r = await verify(otherTenant);
    expect(r.pyjwt?.ok).toBe(false);
    expect(r.authlib?.ok).toBe(false);
  });
});

describe("oauth2-proxy", () => {
  const COOKIE_SECRET = "0123456789abcdef0123456789abcdef";
  let byIssuerUrl: number;
  let byExtraIssuers: number;

  beforeAll(async () => {
    const [a, b] = await freePorts(2);
    byIssuerUrl = a ?? 0;
    byExtraIssuers = b ?? 0;
    const common = ["--provider=oidc", "--client-secret=unused", `--cookie-secret=${COOKIE_SECRET}`, "--email-domain=*", "--skip-jwt-bearer-tokens=true", "--upstream=static://200", `--provider-ca-file=${ca}`];
    servers.push(await startServer(tools.oauth2Proxy, [...common, `--http-address=127.0.0.1:${String(byIssuerUrl)}`, `--oidc-issuer-url=${iss("acme")}`, "--client-id=acme"], `http://127.0.0.1:${String(byIssuerUrl)}/ping`));
    servers.push(await startServer(tools.oauth2Proxy, [...common, `--http-address=127.0.0.1:${String(byExtraIssuers)}`, `--oidc-issuer-url=${iss("beta")}`, "--client-id=beta", `--extra-jwt-issuers=${iss("acme")}=acme`], `http://127.0.0.1:${String(byExtraIssuers)}/ping`));
  }, 60_000);

  const status = async (port: number, token: string): Promise<number> => (await get(port, "/api/v0/items", { authorization: `Bearer ${token}` })).status;

  it("with --oidc-issuer-url accepts a valid EdDSA token", async () => {
    expect(await status(byIssuerUrl, valid)).toBe(200);
  });

  it("with --oidc-issuer-url refuses a forged token and a token of another tenant", async () => {
    expect(await status(byIssuerUrl, forged)).toBe(403);
    expect(await status(byIssuerUrl, otherTenant)).toBe(403);
  });

  it("with --extra-jwt-issuers accepts a valid EdDSA token of the extra issuer", async () => {
    expect(await status(byExtraIssuers, valid)).toBe(200);
  });

  it("with --extra-jwt-issuers refuses a forged token", async () => {
    expect(await status(byExtraIssuers, forged)).toBe(403);
  });
});

describe("nginx auth_request in front of the verifier's authz mode", () => {
  let verifier: TestVerifier;
  let upstream: Upstream;
  let port: number;

  beforeAll(async () => {
    if (tools.nginx === "") throw new Error("nginx is not installed: run hack/interop-tools.sh --packages as root (Debian package nginx-light)");
    const bundle = w.cache.configMaps.get("acme", "keyward-bundle")?.data?.["bundle.json"] ?? null;
    verifier = await startTestVerifier({ args: ["--mode", "authz"], bundleText: bundle });
    upstream = await startUpstream();
    [port = 0] = await freePorts(1);
    const dir = verifier.dir;
    await writeFile(join(dir, "nginx.conf"), nginxConf(dir, port, verifier.port, upstream.port));
    servers.push(await startServer(tools.nginx, ["-p", dir, "-c", join(dir, "nginx.conf")], `http://127.0.0.1:${String(port)}/healthz`));
  }, 60_000);

  afterAll(async () => {
    await upstream.close();
    await verifier.stop();
  });

  it("lets a valid EdDSA token through, with the verifier's identity headers replacing any the client sent", async () => {
    const r = await get(port, "/api/v0/items", { authorization: `Bearer ${valid}`, "x-keyward-api-key": "admin" });
    expect(r.status).toBe(200);
    expect(upstream.seen.at(-1)?.headers).toMatchObject({ "x-keyward-api-key": "reporting", "x-keyward-tenant": "acme", "x-keyward-token-id": decoded(valid).claims.jti });
  });

  it("refuses a forged token with 401 and the verifier's WWW-Authenticate", async () => {
    const r = await get(port, "/api/v0/items", { authorization: `Bearer ${forged}` });
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toContain('error="invalid_token"');
  });

  it("refuses a revoked token and a token of another tenant with 401", async () => {
    expect((await get(port, "/api/v0/items", { authorization: `Bearer ${revoked}` })).status).toBe(401);
    expect((await get(port, "/api/v0/items", { authorization: `Bearer ${otherTenant}` })).status).toBe(401);
  });

  it("refuses a request outside the ApiKey's policies with 403", async () => {
    expect((await get(port, "/admin", { authorization: `Bearer ${valid}` })).status).toBe(403);
  });

  it("never lets a refused request reach the workload", async () => {
    const before = upstream.seen.length;
    for (const token of [forged, revoked, otherTenant]) await get(port, "/api/v0/items", { authorization: `Bearer ${token}` });
    await get(port, "/admin", { authorization: `Bearer ${valid}` });
    await get(port, "/api/v0/items");
    expect(upstream.seen.length).toBe(before);
  });
});

/** docs/integrations.md "nginx auth_request", with the test's ports and a private prefix. */
function nginxConf(dir: string, port: number, verifierPort: number, upstreamPort: number): string {
  return `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /healthz { return 204; }
${recipe(verifierPort, upstreamPort)}
  }
}
`;
}

function recipe(verifierPort: number, upstreamPort: number): string {
  return `    location / {
      auth_request /_keyward;
      auth_request_set $keyward_api_key $upstream_http_x_keyward_api_key;
      auth_request_set $keyward_tenant $upstream_http_x_keyward_tenant;
      auth_request_set $keyward_token_id $upstream_http_x_keyward_token_id;
      proxy_set_header X-Keyward-Api-Key $keyward_api_key;
      proxy_set_header X-Keyward-Tenant $keyward_tenant;
      proxy_set_header X-Keyward-Token-Id $keyward_token_id;
      proxy_pass http://127.0.0.1:${upstreamPort};
    }
    location = /_keyward {
      internal;
      proxy_pass http://127.0.0.1:${verifierPort};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }`;
}
