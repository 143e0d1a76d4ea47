// Envoy's gRPC ext_authz against a running verifier, through a @grpc/grpc-js client built from the
// same descriptors Envoy publishes: the same decisions, identity headers and denial bodies as the
// HTTP authz form, request for request.

import { credentials, loadPackageDefinition, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENVOY_EXT_AUTHZ_DESCRIPTORS } from "../../../src/verifier/grpc/envoy-descriptors.generated.ts";
import type { EnvoyCheckResponse } from "../../../src/verifier/grpc/check.ts";
import { makeFixture, TENANT, TestClock, type Fixture } from "../support/fixture.ts";
import { bearer, send, startTestVerifier, type TestVerifier } from "../support/http.ts";

let fx: Fixture;
let token: string;
let v: TestVerifier;
let client: { Check(req: unknown, cb: (err: Error | null, res: EnvoyCheckResponse) => void): void; close(): void };
const clock = new TestClock();

beforeAll(async () => {
  fx = await makeFixture();
  token = await fx.token();
  v = await startTestVerifier({
    args: ["--mode", "authz", "--grpc-listen", "127.0.0.1:0"],
    bundleText: fx.bundleText({ revoked: [{ jti: "revoked-jti-0000000000", apiKey: "reporting", exp: Math.floor(clock.now() / 1000) + 7200 }] }),
    deps: { now: clock.now },
  });
  const definition = loadFileDescriptorSetFromBuffer(Buffer.from(ENVOY_EXT_AUTHZ_DESCRIPTORS, "base64"), { keepCase: true, enums: String, longs: String, defaults: false, oneofs: true });
  const Authorization = (loadPackageDefinition(definition) as unknown as { envoy: { service: { auth: { v3: { Authorization: ServiceClientConstructor } } } } }).envoy.service.auth.v3.Authorization;
  client = new Authorization(`127.0.0.1:${v.verifier.grpcAddress!.port}`, credentials.createInsecure()) as unknown as typeof client;
});

afterAll(async () => {
  client.close();
  await v.stop();
});

function check(method: string, path: string, headers: Record<string, string>): Promise<EnvoyCheckResponse> {
  return new Promise((resolve, reject) => {
    // A protobuf map on the wire: a list of key/value entries.
    const entries = Object.entries(headers).map(([key, value]) => ({ key, value }));
    client.Check({ attributes: { request: { http: { method, path, headers: entries } } } }, (err, res) => {
      if (err !== null) reject(err);
      else resolve(res);
    });
  });
}

function header_map(options: { header: { key: string; value: string } }[] | undefined): Record<string, string> {
  return Object.fromEntries((options ?? []).map((o) => [o.header.key, o.header.value]));
}

/** The HTTP form's answer to the same request (Envoy's HTTP ext_authz convention). */
function http(method: string, path: string, headers: Record<string, string>): ReturnType<typeof send> {
  return send(v.port, { method, path, headers });
}

describe("gRPC ext_authz (envoy.service.auth.v3.Authorization/Check)", () => {
  it("allows a valid token within the policies with status OK and the identity headers the HTTP form sends", async () => {
    const res = await check("GET", "/api/v0/items?page=2", { ...bearer(token), "x-keyward-api-key": "forged", "x-keyward-extra": "forged" });
    expect(res.status.code).toBe(0);
    const set = header_map(res.ok_response?.headers);
    const viaHttp = await http("GET", "/api/v0/items?page=2", bearer(token));
    expect(viaHttp.status).toBe(200);
    expect(set).toEqual({ "x-keyward-api-key": "reporting", "x-keyward-tenant": TENANT, "x-keyward-token-id": viaHttp.headers["x-keyward-token-id"] });
    expect(res.ok_response?.headers.every((h) => (h as { append_action?: string }).append_action === "OVERWRITE_IF_EXISTS_OR_ADD")).toBe(true);
    // A client's own X-Keyward-* header that the verifier does not set is removed, never passed on.
    expect(res.ok_response?.headers_to_remove).toEqual(["x-keyward-extra"]);
  });

  it("denies a request without a token with UNAUTHENTICATED and the HTTP form's 401, challenge and body", async () => {
    const res = await check("GET", "/api/v0/items", {});
    const viaHttp = await http("GET", "/api/v0/items", {});
    expect(res.status).toEqual({ code: 16, message: "ERR_TOKEN_MISSING" });
    expect(res.denied_response?.status.code).toBe("Unauthorized");
    expect(viaHttp.status).toBe(401);
    expect(header_map(res.denied_response?.headers)["www-authenticate"]).toBe(viaHttp.headers["www-authenticate"]);
    expect(res.denied_response?.body).toBe(viaHttp.body);
    expect(res.ok_response).toBeUndefined();
  });

  it("denies a request outside the policies with PERMISSION_DENIED and 403 insufficient_scope", async () => {
    const res = await check("DELETE", "/api/v0/admin/users", bearer(token));
    expect(res.status).toEqual({ code: 7, message: "ERR_POLICY_DENIED" });
    expect(res.denied_response?.status.code).toBe("Forbidden");
    expect(header_map(res.denied_response?.headers)["www-authenticate"]).toContain('error="insufficient_scope"');
  });

  it("denies a revoked token with UNAUTHENTICATED and ERR_TOKEN_REVOKED", async () => {
    const revoked = await fx.token({ jti: "revoked-jti-0000000000" });
    const res = await check("GET", "/api/v0/items", bearer(revoked));
    expect(res.status).toEqual({ code: 16, message: "ERR_TOKEN_REVOKED" });
    expect(JSON.parse(res.denied_response!.body)).toMatchObject({ code: "ERR_TOKEN_REVOKED" });
  });

  it("denies a check without an absolute path or with two Authorization values as a bad request, like the HTTP form", async () => {
    const noPath = await check("GET", "items", bearer(token));
    expect(noPath.status.code).toBe(3);
    expect(noPath.denied_response?.status.code).toBe("BadRequest");
    const joined = await check("GET", "/api/v0/items", { authorization: `Bearer ${token},Bearer ${token}` });
    expect(joined.status.code).toBe(3);
  });
});
