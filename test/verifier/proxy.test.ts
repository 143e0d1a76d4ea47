// The proxy end to end: real verifier, real upstream, real HTTP on 127.0.0.1.

import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { forgedToken, ISSUER, makeFixture, T0, TENANT, TestClock, type Fixture } from "./support/fixture.ts";
import { tenantIssuer } from "../../src/token/index.ts";
import { bearer, eventually, send, startTestVerifier, startUpstream, type TestVerifier, type Upstream } from "./support/http.ts";

let fx: Fixture;
let upstream: Upstream;
let v: TestVerifier;
const clock = new TestClock();
let generation = 1;

/** Puts a new bundle in force (a higher generation each time). */
function useBundle(over: Parameters<Fixture["bundleText"]>[0] = {}): void {
  generation += 1;
  const text = fx.bundleText({ generation, ...over });
  // A head without segments is taken before offer returns.
  void v.verifier.store.offer(text, "test", v.sign(text));
  expect(v.verifier.store.generation()).toBe(generation);
}

function codeOf(body: string): string {
  return (JSON.parse(body) as { code: string }).code;
}

beforeAll(async () => {
  fx = await makeFixture();
  upstream = await startUpstream();
  v = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", upstream.url], bundleText: fx.bundleText(), deps: { now: clock.now } });
});

afterAll(async () => {
  await v.stop();
  await upstream.close();
});

beforeEach(() => {
  clock.set(T0);
  upstream.seen.length = 0;
  useBundle();
});

describe("proxy mode: the token checks through the server", () => {
  it("lets a valid token through and passes the workload's answer back", async () => {
    const r = await send(v.port, { path: "/api/v0/items?limit=5", headers: bearer(await fx.token()) });
    expect(r.status).toBe(200);
    expect(r.headers["x-upstream"]).toBe("yes");
    expect(JSON.parse(r.body)).toEqual({ method: "GET", url: "/api/v0/items?limit=5" });
    const seen = upstream.seen[0]!;
    expect(seen.headers["x-keyward-api-key"]).toBe("reporting");
    expect(seen.headers["x-keyward-tenant"]).toBe(TENANT);
    expect(seen.headers["x-keyward-token-id"]).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("answers 401 without an error attribute when the token is missing", async () => {
    const r = await send(v.port);
    expect(r.status).toBe(401);
    expect(r.headers["www-authenticate"]).toBe('Bearer realm="keyward"');
    expect(codeOf(r.body)).toBe("ERR_TOKEN_MISSING");
    expect(upstream.seen).toHaveLength(0);
  });

  const refused: [string, () => Promise<string>, string][] = [
    ["a malformed token", () => Promise.resolve("not-a-jwt"), "ERR_TOKEN_MALFORMED"],
    ["alg none", () => Promise.resolve(forgedToken({ alg: "none", typ: "at+jwt", kid: fx.reporting.kid }, { iss: ISSUER, sub: "reporting", client_id: "reporting", aud: TENANT, iat: T0 / 1000 - 60, nbf: T0 / 1000 - 60, exp: T0 / 1000 + 600, jti: "AAAAAAAAAAAAAAAAAAAAAA" })), "ERR_ALG_MISMATCH"],
    ["a kid of no key in the bundle", () => fx.token({ key: fx.stranger }), "ERR_KEY_UNKNOWN"],
    ["an expired token", () => fx.token({ atMs: T0 - 7200_000, lifetimeSeconds: 3600 }), "ERR_TOKEN_EXPIRED"],
    ["a token for another tenant", () => fx.token({ tenant: "other" }), "ERR_ISSUER_MISMATCH"],
    ["a token for another tenant under this tenant's issuer", () => fx.token({ tenant: "other", issuer: tenantIssuer(ISSUER, TENANT) }), "ERR_AUDIENCE_MISMATCH"],
    ["a token of another issuer", () => fx.token({ issuer: "https://elsewhere.test" }), "ERR_ISSUER_MISMATCH"],
    ["a token of a suspended ApiKey", () => fx.token({ key: fx.frozen, apiKey: "frozen" }), "ERR_API_KEY_SUSPENDED"],
    ["a token whose key belongs to another ApiKey", () => fx.token({ key: fx.frozen, apiKey: "reporting" }), "ERR_KEY_SUBJECT_MISMATCH"],
    ["a non-expiring token of an ApiKey that does not allow them", () => fx.token({ lifetimeSeconds: null }), "ERR_TOKEN_NO_EXPIRY"],
  ];
  for (const [what, token, code] of refused) {
    it(`refuses ${what} with 401 invalid_token (${code})`, async () => {
      const r = await send(v.port, { headers: bearer(await token()) });
      expect(r.status).toBe(401);
      expect(r.headers["www-authenticate"]).toMatch(/^Bearer realm="keyward", error="invalid_token", error_description="[^"]+"$/);
      expect(codeOf(r.body)).toBe(code);
      expect(upstream.seen).toHaveLength(0);
    });
  }

  it("refuses a tampered signature", async () => {
    const token = await fx.token();
    const [h, c] = token.split(".");
    const other = (await fx.token({ jti: "BBBBBBBBBBBBBBBBBBBBBB" })).split(".")[2]!;
    const r = await send(v.port, { headers: bearer(`${h!}.${c!}.${other}`) });
    expect(r.status).toBe(401);
    expect(codeOf(r.body)).toBe("ERR_SIGNATURE_INVALID");
  });

  it("refuses a revoked jti once the bundle lists it, and not before", async () => {
    const token = await fx.token({ jti: "cmV2b2tlZC10b2tlbi0wMQ" });
    expect((await send(v.port, { headers: bearer(token) })).status).toBe(200);
    useBundle({ revoked: [{ jti: "cmV2b2tlZC10b2tlbi0wMQ", apiKey: "reporting", exp: Math.floor(T0 / 1000) + 3600 }] });
    const r = await send(v.port, { headers: bearer(token) });
    expect(r.status).toBe(401);
    expect(codeOf(r.body)).toBe("ERR_TOKEN_REVOKED");
  });

  it("refuses a token issued before the ApiKey's revokedBefore", async () => {
    const token = await fx.token({ atMs: T0 - 600_000 });
    const bundle = fx.bundle();
    useBundle({ apiKeys: { ...bundle.apiKeys, reporting: { ...bundle.apiKeys.reporting!, revokedBefore: "2026-11-29T11:55:00Z" } } });
    const r = await send(v.port, { headers: bearer(token) });
    expect(codeOf(r.body)).toBe("ERR_TOKEN_ISSUED_BEFORE_REVOCATION");
  });

  it("judges time by the injected clock", async () => {
    const token = await fx.token({ atMs: T0, lifetimeSeconds: 600 });
    expect((await send(v.port, { headers: bearer(token) })).status).toBe(200);
    clock.advance(3600_000);
    expect(codeOf((await send(v.port, { headers: bearer(token) })).body)).toBe("ERR_TOKEN_EXPIRED");
  });
});

describe("proxy mode: access policies", () => {
  it("answers 403 insufficient_scope when no rule allows the method", async () => {
    const r = await send(v.port, { method: "DELETE", headers: bearer(await fx.token()) });
    expect(r.status).toBe(403);
    expect(r.headers["www-authenticate"]).toMatch(/^Bearer realm="keyward", error="insufficient_scope", error_description="[^"]+"$/);
    expect(codeOf(r.body)).toBe("ERR_POLICY_DENIED");
    expect(upstream.seen).toHaveLength(0);
  });

  it("lets an explicit Deny win over an Allow", async () => {
    const r = await send(v.port, { path: "/api/v0/admin/users", headers: bearer(await fx.token()) });
    expect(r.status).toBe(403);
  });

  it("checks the normalised path, so dot segments cannot climb into a denied area", async () => {
    const token = await fx.token();
    expect((await send(v.port, { path: "/api/v0/items/../admin/users", headers: bearer(token) })).status).toBe(403);
    expect((await send(v.port, { path: "/api/v0/%61dmin/users", headers: bearer(token) })).status).toBe(403);
    expect((await send(v.port, { path: "/api/v0/../../etc/passwd", headers: bearer(token) })).status).not.toBe(200);
  });

  it("answers 400 invalid_request for a path with an encoded slash", async () => {
    const r = await send(v.port, { path: "/api/v0/items%2F..%2Fadmin", headers: bearer(await fx.token()) });
    expect(r.status).toBe(400);
    expect(r.headers["www-authenticate"]).toContain('error="invalid_request"');
    expect(codeOf(r.body)).toBe("ERR_PATH_INVALID");
  });

  it("forwards the original request target unchanged", async () => {
    const r = await send(v.port, { path: "/api/v0//items/./one?x=%2F&y=1", headers: bearer(await fx.token()) });
    expect(r.status).toBe(200);
    expect(upstream.seen[0]!.url).toBe("/api/v0//items/./one?x=%2F&y=1");
  });

  it("answers 400 to a request target that is not a path", async () => {
    const r = await send(v.port, { path: "http://elsewhere.test/api/v0/items", headers: bearer(await fx.token()) });
    expect(r.status).toBe(400);
    expect(upstream.seen).toHaveLength(0);
  });

  it("refuses an upload that expects 100-continue without sending 100 Continue", async () => {
    const outcome = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest({ host: "127.0.0.1", port: v.port, method: "POST", path: "/api/v0/items", headers: { expect: "100-continue", "content-length": "1000000" }, agent: false }, (res) => {
        res.resume();
        res.on("end", () => { resolve({ status: res.statusCode ?? 0, continued }); });
      });
      req.on("continue", () => {
        continued = true;
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(outcome).toEqual({ status: 401, continued: false });
    expect(upstream.seen).toHaveLength(0);
  });

  it("sends 100 Continue to an allowed upload and streams its body", async () => {
    const token = await fx.token();
    const r = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest({ host: "127.0.0.1", port: v.port, method: "POST", path: "/api/v0/items", headers: { ...bearer(token), expect: "100-continue", "content-length": "5" }, agent: false }, (res) => {
        res.resume();
        res.on("end", () => { resolve({ status: res.statusCode ?? 0, continued }); });
      });
      req.on("continue", () => {
        continued = true;
        req.end("hello");
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(r).toEqual({ status: 200, continued: true });
    expect(upstream.seen[0]!.body).toBe("hello");
    expect(upstream.seen[0]!.headers.expect).toBeUndefined();
  });

  it("answers a denied HEAD without a body", async () => {
    const r = await send(v.port, { method: "HEAD" });
    expect(r.status).toBe(401);
    expect(r.body).toBe("");
  });
});

describe("proxy mode: headers", () => {
  it("never lets a client-sent X-Keyward-* header reach the workload, in any case", async () => {
    const r = await send(v.port, {
      headers: [
        "Host", `127.0.0.1:${v.port}`,
        "Authorization", `Bearer ${await fx.token()}`,
        "X-Keyward-Api-Key", "admin",
        "x-KEYWARD-tenant", "kube-system",
        "X-Keyward-Token-Id", "forged",
        "X-Keyward-Role", "root",
      ],
    });
    expect(r.status).toBe(200);
    const raw = upstream.seen[0]!.rawHeaders;
    const keyward = raw.filter((_, i) => i % 2 === 0 && raw[i]!.toLowerCase().startsWith("x-keyward-")).map((n) => n.toLowerCase());
    expect(keyward.sort()).toEqual(["x-keyward-api-key", "x-keyward-tenant", "x-keyward-token-id"]);
    const h = upstream.seen[0]!.headers;
    expect(h["x-keyward-api-key"]).toBe("reporting");
    expect(h["x-keyward-tenant"]).toBe(TENANT);
    expect(h["x-keyward-token-id"]).not.toBe("forged");
    expect(h["x-keyward-role"]).toBeUndefined();
  });

  it("removes the Authorization header before the workload by default", async () => {
    await send(v.port, { headers: bearer(await fx.token()) });
    expect(upstream.seen[0]!.headers.authorization).toBeUndefined();
  });

  it("removes hop-by-hop headers and the ones Connection names, and sets X-Forwarded-*", async () => {
    await send(v.port, {
      headers: {
        ...bearer(await fx.token()),
        connection: "keep-alive, x-hop",
        "x-hop": "1",
        "keep-alive": "timeout=5",
        "proxy-authorization": "Basic c2VjcmV0",
        te: "trailers",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-proto": "https",
        "x-end-to-end": "kept",
      },
    });
    const h = upstream.seen[0]!.headers;
    expect(h["x-hop"]).toBeUndefined();
    expect(h["keep-alive"]).toBeUndefined();
    expect(h["proxy-authorization"]).toBeUndefined();
    expect(h.te).toBeUndefined();
    expect(h["x-end-to-end"]).toBe("kept");
    expect(h["x-forwarded-for"]).toBe("203.0.113.7, 127.0.0.1");
    expect(h["x-forwarded-proto"]).toBe("http");
    expect(h["x-forwarded-host"]).toBe(`127.0.0.1:${v.port}`);
    expect(h.host).toBe(`127.0.0.1:${v.port}`);
  });

  /** Writes a raw request and resolves with the first complete answer. */
  function rawExchange(text: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const socket = connect(v.port, "127.0.0.1");
      let got = "";
      socket.on("data", (c: Buffer) => {
        got += c.toString();
        const end = got.indexOf("\r\n\r\n");
        const length = /content-length: (\d+)/i.exec(got);
        const complete = length !== null ? got.length >= end + 4 + Number(length[1]) : got.endsWith("\r\n0\r\n\r\n");
        if (end >= 0 && complete) {
          socket.destroy();
          resolve(got);
        }
      });
      socket.on("error", reject);
      socket.write(text);
    });
  }

  const smuggled = "GET /api/v0/admin/users HTTP/1.1\r\nHost: x\r\nX-Keyward-Api-Key: admin\r\n\r\n";

  it("keeps the body of a chunked GET framed, so it cannot be read as a second, unchecked request", async () => {
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    const answer = await rawExchange(`GET /api/v0/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await fx.token()}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    await eventually(() => upstream.seen.length > 0, "the request to arrive");
    expect(upstream.seen.map((r) => r.url)).toEqual(["/api/v0/items"]);
    expect(upstream.seen[0]!.body).toBe(smuggled);
  });

  it("keeps Content-Length even when Connection names it", async () => {
    const answer = await rawExchange(`GET /api/v0/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await fx.token()}\r\nConnection: keep-alive, Content-Length, Transfer-Encoding, Host\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    await eventually(() => upstream.seen.length > 0, "the request to arrive");
    expect(upstream.seen.map((r) => r.url)).toEqual(["/api/v0/items"]);
    expect(upstream.seen[0]!.body).toBe(smuggled);
    expect(upstream.seen[0]!.headers.host).toBe("x");
  });

  it("refuses with 501 a body in a transfer coding other than chunked alone, before the workload", async () => {
    const answer = await rawExchange(`POST /api/v0/items HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${await fx.token()}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 501 /);
    expect(answer).toContain("ERR_TRANSFER_CODING");
    expect(upstream.seen).toHaveLength(0);
  });

  it("answers 400 to a request with two Authorization headers", async () => {
    const token = await fx.token();
    const r = await send(v.port, { headers: ["Host", `127.0.0.1:${v.port}`, "Authorization", `Bearer ${token}`, "Authorization", "Bearer other"] });
    expect(r.status).toBe(400);
    expect(r.body).toContain("single Authorization header");
    expect(upstream.seen).toHaveLength(0);
  });

  it("answers 400 to a request with two Host headers", async () => {
    const r = await send(v.port, { headers: ["Host", "a.example", "Host", "b.example", "Authorization", `Bearer ${await fx.token()}`] });
    expect(r.status).toBe(400);
    expect(upstream.seen).toHaveLength(0);
  });

  it("removes hop-by-hop headers of the workload's answer", async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { connection: "x-internal", "x-internal": "secret", "x-public": "ok" });
      res.end("done");
    });
    const other = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", up.url], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      const r = await send(other.port, { headers: bearer(await fx.token()) });
      expect(r.status).toBe(200);
      expect(r.headers["x-internal"]).toBeUndefined();
      expect(r.headers["x-public"]).toBe("ok");
      expect(r.body).toBe("done");
    } finally {
      await other.stop();
      await up.close();
    }
  });
});

describe("proxy mode: --forward-authorization", () => {
  it("passes the Authorization header on when asked to", async () => {
    const other = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", upstream.url, "--forward-authorization"], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      const token = await fx.token();
      expect((await send(other.port, { headers: bearer(token) })).status).toBe(200);
      expect(upstream.seen[0]!.headers.authorization).toBe(`Bearer ${token}`);
    } finally {
      await other.stop();
    }
  });
});

describe("proxy mode: streaming", () => {
  it("streams a large request body and a large response body without buffering either", async () => {
    const chunk = Buffer.alloc(1 << 20, 7);
    const chunks = 16;
    let firstRequestChunk!: () => void;
    const upstreamGotFirst = new Promise<void>((resolve) => (firstRequestChunk = resolve));
    let clientGotFirst!: () => void;
    const clientGotFirstChunk = new Promise<void>((resolve) => (clientGotFirst = resolve));

    const up = await startUpstream((req, res) => {
      const hash = createHash("sha256");
      let size = 0;
      req.on("data", (c: Buffer) => {
        if (size === 0) firstRequestChunk();
        size += c.length;
        hash.update(c);
      });
      req.on("end", () => {
        res.writeHead(200, { "x-request-bytes": String(size), "x-request-sha256": hash.digest("hex") });
        // Send one chunk, wait until the client has it, then the rest.
        res.write(chunk);
        void clientGotFirstChunk.then(() => {
          for (let i = 1; i < chunks; i++) res.write(chunk);
          res.end();
        });
      });
    });
    const other = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", up.url], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      const token = await fx.token();
      const result = await new Promise<{ status: number; headers: IncomingMessage["headers"]; bytes: number }>((resolve, reject) => {
        const req = httpRequest(
          { host: "127.0.0.1", port: other.port, method: "POST", path: "/api/v0/upload", headers: { ...bearer(token), "content-type": "application/octet-stream" }, agent: false },
          (res) => {
            let bytes = 0;
            res.on("data", (c: Buffer) => {
              if (bytes === 0) clientGotFirst();
              bytes += c.length;
            });
            res.on("end", () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }); });
            res.on("error", reject);
          },
        );
        req.on("error", reject);
        // One chunk, then wait until the workload has it: a buffering proxy would wait for the end first.
        req.write(chunk);
        void upstreamGotFirst.then(() => {
          for (let i = 1; i < chunks; i++) req.write(chunk);
          req.end();
        });
      });
      const expected = createHash("sha256");
      for (let i = 0; i < chunks; i++) expected.update(chunk);
      expect(result.status).toBe(200);
      expect(result.headers["x-request-bytes"]).toBe(String(chunk.length * chunks));
      expect(result.headers["x-request-sha256"]).toBe(expected.digest("hex"));
      expect(result.bytes).toBe(chunk.length * chunks);
    } finally {
      await other.stop();
      await up.close();
    }
  });
});

describe("proxy mode: Upgrade", () => {
  async function echoUpstream(): Promise<{ port: number; seen: IncomingMessage[]; close: () => Promise<void> }> {
    const seen: IncomingMessage[] = [];
    const server = createServer((_req, res) => res.writeHead(426).end());
    server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      seen.push(req);
      socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return {
      port: (server.address() as AddressInfo).port,
      seen,
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => { resolve(); });
      }),
    };
  }

  function upgrade(port: number, headers: Record<string, string>): Promise<{ status: number; socket: Socket | null; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path: "/api/v0/stream", headers: { connection: "Upgrade", upgrade: "echo", ...headers }, agent: false });
      req.on("upgrade", (res: IncomingMessage, socket: Socket) => { resolve({ status: res.statusCode ?? 0, socket, body: "" }); });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => { resolve({ status: res.statusCode ?? 0, socket: null, body }); });
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("checks an Upgrade request, then pipes the connection both ways", async () => {
    const up = await echoUpstream();
    const other = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", `http://127.0.0.1:${up.port}`], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      const r = await upgrade(other.port, { ...bearer(await fx.token()), "x-keyward-api-key": "admin" });
      expect(r.status).toBe(101);
      const socket = r.socket!;
      const echoed = new Promise<string>((resolve) => {
        let got = "";
        socket.on("data", (c: Buffer) => {
          got += c.toString();
          if (got.length >= 11) resolve(got);
        });
      });
      socket.write("hello world");
      expect(await echoed).toBe("hello world");
      socket.destroy();
      const seen = up.seen[0]!;
      expect(seen.headers["x-keyward-api-key"]).toBe("reporting");
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.headers.upgrade).toBe("echo");
    } finally {
      await other.stop();
      await up.close();
    }
  });

  it("refuses an Upgrade request without a valid token before reaching the workload", async () => {
    const up = await echoUpstream();
    const other = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", `http://127.0.0.1:${up.port}`], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      const r = await upgrade(other.port, {});
      expect(r.status).toBe(401);
      expect(codeOf(r.body)).toBe("ERR_TOKEN_MISSING");
      expect(up.seen).toHaveLength(0);
    } finally {
      await other.stop();
      await up.close();
    }
  });
});

describe("proxy mode: the workload failing", () => {
  it("answers 502 with a generic body when the workload refuses connections", async () => {
    const gone = await startUpstream();
    const url = gone.url;
    await gone.close();
    const other = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", url], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      const r = await send(other.port, { headers: bearer(await fx.token()) });
      expect(r.status).toBe(502);
      expect(r.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|connect/);
      expect(codeOf(r.body)).toBe("ERR_UPSTREAM_UNAVAILABLE");
      const metrics = await v.verifier.metrics.registry.metrics();
      expect(metrics).toContain("keyward_verifier_upstream_errors_total");
    } finally {
      await other.stop();
    }
  });

  it("answers 504 when the workload does not answer within --upstream-timeout", async () => {
    const silent = await startUpstream(() => undefined);
    const other = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", silent.url, "--upstream-timeout", "100ms"], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      const r = await send(other.port, { headers: bearer(await fx.token()) });
      expect(r.status).toBe(504);
      expect(codeOf(r.body)).toBe("ERR_UPSTREAM_TIMEOUT");
    } finally {
      await other.stop();
      await silent.close();
    }
  });
});

describe("proxy mode: requests waiting for a pooled connection", () => {
  /** Opens a connection, sends `text` (pipelined requests), and collects what comes back. */
  function pipelined(port: number, text: string): { socket: Socket; received: () => string; closed: Promise<void> } {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    socket.on("data", (c: Buffer) => { got += c.toString(); });
    socket.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => socket.on("close", () => { resolve(); }));
    socket.write(text);
    return { socket, received: () => got, closed };
  }

  async function withHoldingUpstream(args: string[], run: (port: number, up: Upstream) => Promise<void>): Promise<void> {
    // "/api/v0/hold" is never answered; anything else is answered at once.
    const up = await startUpstream((req, res, seen) => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, body: "" });
      if (req.url === "/api/v0/hold") return;
      res.writeHead(200, { "content-type": "text/plain", "content-length": "2" });
      res.end("ok");
    });
    const other = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", up.url, ...args], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      await run(other.port, up);
    } finally {
      await other.stop();
      await up.close();
    }
  }

  it("never sends the workload a request whose client left while it waited, so it cannot hold a connection", async () => {
    await withHoldingUpstream(["--max-connections", "1", "--upstream-timeout", "30s"], async (port, up) => {
      const token = await fx.token();
      // One pooled connection: the second pipelined request waits behind the held first one.
      const c = pipelined(port, `GET /api/v0/hold HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\nGET /api/v0/second HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      await eventually(() => up.seen.length > 0, "the first request to reach the workload");
      c.socket.destroy();
      await c.closed;
      const r = await send(port, { path: "/api/v0/third", headers: bearer(token) });
      expect(r.status).toBe(200);
      expect(up.seen.map((s) => s.url)).toEqual(["/api/v0/hold", "/api/v0/third"]);
    });
  });
});

describe("proxy mode: the workload's answers as they come", () => {
  async function through(handler: Parameters<typeof startUpstream>[0], run: (port: number) => Promise<void>): Promise<void> {
    const up = await startUpstream(handler);
    const other = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", up.url], bundleText: fx.bundleText(), deps: { now: clock.now } });
    try {
      await run(other.port);
    } finally {
      await other.stop();
      await up.close();
    }
  }

  it("passes on a header the workload sends twice, and every Set-Cookie, in order", async () => {
    await through((_req, res) => {
      res.writeHead(200, ["x-multi", "a", "set-cookie", "a=1; Path=/", "x-multi", "b", "set-cookie", "b=2; Path=/", "content-length", "2"]);
      res.end("ok");
    }, async (port) => {
      const r = await send(port, { headers: bearer(await fx.token()) });
      expect(r.status).toBe(200);
      expect(r.headers["x-multi"]).toBe("a, b");
      expect(r.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; Path=/"]);
      expect(r.body).toBe("ok");
    });
  });

  it("streams a chunked answer of the workload to its end", async () => {
    await through((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first,");
      setImmediate(() => {
        res.write("second,");
        res.end("last");
      });
    }, async (port) => {
      const r = await send(port, { headers: bearer(await fx.token()) });
      expect(r.status).toBe(200);
      expect(r.headers["content-length"]).toBeUndefined();
      expect(r.body).toBe("first,second,last");
    });
  });

  it("passes on 204 and 304 answers without a body", async () => {
    await through((req, res) => {
      if (req.url === "/api/v0/empty") res.writeHead(204, { "x-kind": "none" }).end();
      else res.writeHead(304, { etag: '"v1"' }).end();
    }, async (port) => {
      const token = await fx.token();
      const empty = await send(port, { path: "/api/v0/empty", headers: bearer(token) });
      expect(empty.status).toBe(204);
      expect(empty.headers["x-kind"]).toBe("none");
      expect(empty.body).toBe("");
      const cached = await send(port, { path: "/api/v0/cached", headers: { ...bearer(token), "if-none-match": '"v1"' } });
      expect(cached.status).toBe(304);
      expect(cached.headers.etag).toBe('"v1"');
      expect(cached.body).toBe("");
    });
  });

  it("passes on the final answer of a workload that first sends 103 Early Hints", async () => {
    await through((_req, res) => {
      res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
      res.writeHead(200, { "content-length": "5" }).end("final");
    }, async (port) => {
      const r = await send(port, { path: "/api/v0/hinted", headers: bearer(await fx.token()) });
      expect(r.status).toBe(200);
      expect(r.body).toBe("final");
    });
  });

  it("cuts the client's answer short when the workload closes in the middle of the body", async () => {
    await through((_req, res) => {
      res.writeHead(200, { "content-length": "1000" });
      res.write("partial");
      setImmediate(() => res.socket?.destroy());
    }, async (port) => {
      const token = await fx.token();
      const outcome = await new Promise<{ status: number; complete: boolean; body: string }>((resolve) => {
        const req = httpRequest({ host: "127.0.0.1", port, path: "/api/v0/items", headers: bearer(token), agent: false }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("close", () => { resolve({ status: res.statusCode ?? 0, complete: res.complete, body }); });
          res.on("error", () => undefined);
        });
        req.on("error", () => { resolve({ status: 0, complete: false, body: "" }); });
        req.end();
      });
      expect(outcome.status).toBe(200);
      expect(outcome.complete).toBe(false);
      expect(outcome.body).toBe("partial");
    });
  });

  it("answers a HEAD request with the workload's headers and no body", async () => {
    await through((_req, res) => {
      res.writeHead(200, { "content-length": "42", "x-head": "yes" });
      res.end();
    }, async (port) => {
      const r = await send(port, { method: "HEAD", headers: bearer(await fx.token()) });
      expect(r.status).toBe(200);
      expect(r.headers["content-length"]).toBe("42");
      expect(r.headers["x-head"]).toBe("yes");
      expect(r.body).toBe("");
    });
  });
});
