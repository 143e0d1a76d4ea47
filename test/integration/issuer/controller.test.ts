// `keyward controller` with the token service, on a real API server, with the RBAC of
// config/rbac plus config/issuer/component: ApiKeys reconciled by the controller, a token issued
// through the issuer API, its IssuedToken revoked into the tenant bundle, client credentials
// minted by the leader and used, discovery serving the bundle's jwks.json.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import type { IssuedToken } from "../../../src/api/index.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basic, decoded, send, type Reply } from "../../issuer/support/fixture.ts";
import {
  accessTokenWhen,
  apiKeyWhen,
  condition,
  controllerIdentity,
  decode,
  eventsOf,
  isTrue,
  readBundle,
  runController,
  verify,
  type SecretLike,
  type TestController,
} from "../controller/support.ts";
import { eventually, Kube, useNamespace, type KubeObject } from "../harness/index.ts";
import { grantTokenService, tokenServiceOn } from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "issuer-ctl");
let identity: KubeConfig;
let ctl: TestController;
let caPem: string;
let dir: string;
let port: number;

const API = "keyward.dev/v1alpha1";

function request(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return send(port, caPem, path, opts);
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  await grantTokenService(kube, ns.name);
  for (const [name, rules] of [
    ["token-issuer", [{ methods: ["POST"], paths: ["/api/v0/admin/api-keys/*/tokens"] }]],
    ["reads", [{ methods: ["GET"], paths: ["/api/**"] }]],
  ] as const) {
    await kube.create({ apiVersion: API, kind: "AccessPolicy", metadata: { name, namespace: ns.name }, spec: { rules } });
  }
  dir = await mkdtemp(join(tmpdir(), "keyward-issuer-ctl-"));
  const service = await tokenServiceOn(dir);
  caPem = service.caPem;
  port = service.port;
  ctl = await runController(identity, ns.name, { tokenService: service.tokenService });
});

afterAll(async () => {
  await ctl.running.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("the controller with the token service", () => {
  it("issues through the issuer API, puts a revoked IssuedToken into the bundle, and audits both", async () => {
    await kube.create({ apiVersion: API, kind: "ApiKey", metadata: { name: "workflow", namespace: ns.name }, spec: { policies: ["token-issuer"] } });
    await kube.create({ apiVersion: API, kind: "ApiKey", metadata: { name: "reporting", namespace: ns.name }, spec: { policies: ["reads"] } });
    await kube.create({ apiVersion: API, kind: "AccessToken", metadata: { name: "workflow-token", namespace: ns.name }, spec: { apiKeyName: "workflow" } });
    for (const name of ["workflow", "reporting"]) await apiKeyWhen(kube, ns.name, name, (k) => isTrue(condition(k, "Ready")), "Ready");
    await accessTokenWhen(kube, ns.name, "workflow-token", (t) => isTrue(condition(t, "Ready")), "Ready");
    const caller = decode(await kube.get<SecretLike>({ apiVersion: "v1", kind: "Secret", namespace: ns.name, name: "workflow-token" }), "token");

    const issued = await eventually("the token service to issue", async () => {
      const r = await request("/api/v0/admin/api-keys/reporting/tokens", { method: "POST", headers: { authorization: `Bearer ${caller}`, "x-keyward-tenant": ns.name } });
      return r.status === 201 ? r : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    const token = issued.json.access_token as string;
    const jti = issued.json.jti as string;
    expect(verify(token, (await readBundle(kube, ns.name))!, Date.now()).ok).toBe(true);

    const [record] = await kube.list<KubeObject & { spec: { jti: string } }>({ apiVersion: API, kind: "IssuedToken", namespace: ns.name }, "keyward.dev/api-key=reporting");
    expect(record?.spec.jti).toBe(jti);
    await kube.mergePatch(record!, { spec: { revoked: true } });
    const bundle = await eventually("the revoked jti in the bundle", async () => {
      const b = await readBundle(kube, ns.name);
      return b?.revoked.some((r) => r.jti === jti) === true ? b : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    const refused = verify(token, bundle, Date.now());
    expect(!refused.ok && refused.error.code).toBe("ERR_TOKEN_REVOKED");
    // No verifier reports here: enforced at the bundle write that lists it, and nothing else is written to its status.
    const status = await eventually("the IssuedToken's revocation recorded as enforced", async () => {
      const r = await kube.get<KubeObject & Pick<IssuedToken, "status">>(record!);
      return r.status?.revocationEnforced === undefined ? undefined : r.status;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    expect(Object.keys(status).sort()).toEqual(["revocationEnforced", "revokedAt"]);
    expect(status.revocationEnforced?.verifiers).toBe(0);
    expect(status.revocationEnforced?.generation).toBeLessThanOrEqual(bundle.generation);
    expect(Date.parse(status.revocationEnforced?.at ?? "")).toBeGreaterThanOrEqual(Date.parse(status.revokedAt ?? ""));
    await eventually("the TokenIssued and TokenRevoked Events", async () => {
      const reasons = (await eventsOf(kube, ns.name)).map((e) => e.reason);
      return reasons.includes("TokenIssued") && reasons.includes("TokenRevoked");
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(ctl.logs.join("")).not.toContain(token);
    expect(ctl.logs.join("")).not.toContain(caller);
  });

  it("mints client credentials for an annotated ApiKey, and the client gets a token with them", async () => {
    await kube.create({
      apiVersion: API,
      kind: "ApiKey",
      metadata: { name: "ingest", namespace: ns.name, annotations: { "keyward.dev/client-credentials": "enabled" } },
      spec: { policies: ["reads"] },
    });
    await apiKeyWhen(kube, ns.name, "ingest", (k) => isTrue(condition(k, "Ready")), "Ready");
    const creds = await eventually("the client-credentials Secret", () => kube.find<SecretLike>({ apiVersion: "v1", kind: "Secret", namespace: ns.name, name: "ingest-client-credentials" }), { timeoutMs: 20_000, intervalMs: 200 });
    const r = await eventually("the token endpoint to accept the client", async () => {
      const reply = await request("/oauth2/token", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(decode(creds, "client_id"), decode(creds, "client_secret")) },
        body: "grant_type=client_credentials",
      });
      return reply.status === 200 ? reply : undefined;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    expect(decoded(r.json.access_token as string).claims).toMatchObject({ sub: "ingest", aud: ns.name });
    expect(ctl.logs.join("")).not.toContain(decode(creds, "client_secret"));
  });

  it("serves the tenant's bundle jwks.json as its JWKS", async () => {
    const cm = await kube.get<KubeObject & { data: Record<string, string> }>({ apiVersion: "v1", kind: "ConfigMap", namespace: ns.name, name: "keyward-bundle" });
    const r = await request(`/${ns.name}/.well-known/jwks.json`);
    expect(r.status).toBe(200);
    expect(r.body).toBe(cm.data["jwks.json"]);
  });
});
