// The gRPC ext_authz server against the client Envoy's go-control-plane generates from Envoy's
// published protos (test/interop/ext-authz-client, built with Go): the wire format is Envoy's.

import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFixture, TENANT, TestClock } from "../../verifier/support/fixture.ts";
import { startTestVerifier, type TestVerifier } from "../../verifier/support/http.ts";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));
const CLIENT_DIR = join(REPO, "test", "interop", "ext-authz-client");
const CLIENT = join(REPO, ".cache", "test-tools", "ext-authz-client");

let v: TestVerifier;
let token: string;
let revoked: string;
const clock = new TestClock();

beforeAll(async () => {
  mkdirSync(join(REPO, ".cache", "test-tools"), { recursive: true });
  execFileSync("go", ["build", "-o", CLIENT, "."], { cwd: CLIENT_DIR, env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: "local" }, stdio: ["ignore", "ignore", "inherit"], timeout: 600_000 });
  const fx = await makeFixture();
  token = await fx.token();
  revoked = await fx.token({ jti: "revoked-jti-0000000001" });
  v = await startTestVerifier({
    args: ["--mode", "authz", "--grpc-listen", "127.0.0.1:0"],
    bundleText: fx.bundleText({ revoked: [{ jti: "revoked-jti-0000000001", apiKey: "reporting", exp: Math.floor(clock.now() / 1000) + 7200 }] }),
    deps: { now: clock.now },
  });
}, 600_000);

afterAll(async () => {
  await v.stop();
});

interface CheckJson {
  status?: { code?: number; message?: string };
  okResponse?: { headers?: { header: { key: string; value: string } }[] };
  deniedResponse?: { status?: { code?: string }; body?: string };
}

/** Runs the Go client (asynchronously: the verifier answers from this very process). */
async function check(method: string, path: string, headers: Record<string, string> = {}): Promise<CheckJson> {
  const args = [`-addr=127.0.0.1:${v.verifier.grpcAddress!.port}`, `-method=${method}`, `-path=${path}`, ...Object.entries(headers).map(([k, val]) => `-header=${k}=${val}`)];
  const { stdout } = await promisify(execFile)(CLIENT, args, { encoding: "utf8", timeout: 30_000 });
  return JSON.parse(stdout) as CheckJson;
}

describe("gRPC ext_authz with Envoy's generated client", () => {
  it("allows a valid token and returns the identity headers", async () => {
    const r = await check("GET", "/api/v0/items", { authorization: `Bearer ${token}` });
    expect(r.status?.code ?? 0).toBe(0);
    const set = Object.fromEntries((r.okResponse?.headers ?? []).map((h) => [h.header.key, h.header.value]));
    expect(set).toMatchObject({ "x-keyward-api-key": "reporting", "x-keyward-tenant": TENANT });
  });

  it("answers a request without a token with UNAUTHENTICATED and an HTTP 401", async () => {
    const r = await check("GET", "/api/v0/items");
    expect(r.status).toEqual({ code: 16, message: "ERR_TOKEN_MISSING" });
    expect(r.deniedResponse?.status?.code).toBe("Unauthorized");
  });

  it("answers a request outside the policies with PERMISSION_DENIED and an HTTP 403", async () => {
    const r = await check("DELETE", "/api/v0/admin/users", { authorization: `Bearer ${token}` });
    expect(r.status).toEqual({ code: 7, message: "ERR_POLICY_DENIED" });
    expect(r.deniedResponse?.status?.code).toBe("Forbidden");
  });

  it("answers a revoked token with UNAUTHENTICATED and ERR_TOKEN_REVOKED in the body", async () => {
    const r = await check("GET", "/api/v0/items", { authorization: `Bearer ${revoked}` });
    expect(r.status?.code).toBe(16);
    expect(JSON.parse(r.deniedResponse?.body ?? "{}")).toMatchObject({ code: "ERR_TOKEN_REVOKED" });
  });
});
