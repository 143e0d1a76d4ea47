import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerCode, DemoAbortedError, describeAnswer, describeRequest, expectStatus, HttpProbe, parseMetric, readMetric, waitForStatus } from "../../src/demo/index.ts";

/** A server that answers 200 until it has seen `flipAfter` requests, then 401; it records what it got. */
let server: Server;
let base: string;
let seen: IncomingMessage[] = [];
let flipAfter = Infinity;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req);
    if (req.url === "/metrics") {
      res.end("# HELP keyward_verifier_bundle_generation g\n# TYPE keyward_verifier_bundle_generation gauge\nkeyward_verifier_bundle_generation 42\n");
      return;
    }
    if (seen.length > flipAfter) res.writeHead(401, { "www-authenticate": "Bearer", "content-type": "application/json" }).end('{"error":"invalid_token","code":"ERR_TOKEN_REVOKED"}\n');
    else res.writeHead(200, { "www-authenticate": "Bearer" }).end("body");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function reset(flip = Infinity): void {
  seen = [];
  flipAfter = flip;
}

describe("HttpProbe and expectStatus", () => {
  it("send the bearer token in the Authorization header and describe the request by the token's name only", async () => {
    reset();
    const probe = new HttpProbe(`${base}/`);
    try {
      const check = await expectStatus(probe, { method: "DELETE", path: "/api/v0/profiles/42", token: "secret.jwt.value", tokenLabel: "reporting's token (kid abc)" }, 403);
      expect(seen[0]?.headers.authorization).toBe("Bearer secret.jwt.value");
      expect(seen[0]?.method).toBe("DELETE");
      expect(check.ok).toBe(false);
      expect(check.answer.status).toBe(200);
      expect(check.text).toMatch(/^DELETE \/api\/v0\/profiles\/42 with reporting's token \(kid abc\) → 200 \(expected 403\), [\d.]+ ms$/);
      expect(check.text).not.toContain("secret.jwt.value");
    } finally {
      probe.close();
    }
  });

  it("send no Authorization header without a token", async () => {
    reset();
    const probe = new HttpProbe(base);
    try {
      const check = await expectStatus(probe, { path: "/x" }, 200);
      expect(check.ok).toBe(true);
      expect(check.answer.headers["www-authenticate"]).toBe("Bearer");
      expect(seen[0]?.headers.authorization).toBeUndefined();
      expect(describeRequest({ path: "/x" })).toBe("GET /x without a token");
    } finally {
      probe.close();
    }
  });

  it("refuse to send once the signal has aborted", async () => {
    const probe = new HttpProbe(base);
    try {
      await expect(probe.send({ path: "/" }, AbortSignal.abort())).rejects.toBeInstanceOf(DemoAbortedError);
    } finally {
      probe.close();
    }
  });
});

describe("waitForStatus", () => {
  it("repeats the request until the expected status comes and counts the attempts", async () => {
    reset(3);
    const probe = new HttpProbe(base);
    try {
      const wait = await waitForStatus(probe, { path: "/", token: "t" }, 401, { timeoutMs: 60_000, intervalMs: 0 });
      expect(wait).toMatchObject({ ok: true, attempts: 4, lastError: undefined });
      expect(wait.last?.status).toBe(401);
      expect(wait.elapsedMs).toBeGreaterThanOrEqual(0);
    } finally {
      probe.close();
    }
  });

  it("with a code, waits for a refusal with that code, and names the code it got", async () => {
    reset(0);
    const probe = new HttpProbe(base);
    try {
      const revoked = await waitForStatus(probe, { path: "/" }, 401, { code: "ERR_TOKEN_REVOKED", timeoutMs: 60_000, intervalMs: 0 });
      expect(revoked.ok).toBe(true);
      expect(describeAnswer(revoked.last!)).toBe("401 ERR_TOKEN_REVOKED");
      const other = await waitForStatus(probe, { path: "/" }, 401, { code: "ERR_KEY_UNKNOWN", timeoutMs: 0 });
      expect(other.ok).toBe(false);
      expect(answerCode(other.last!)).toBe("ERR_TOKEN_REVOKED");
      const check = await expectStatus(probe, { path: "/" }, 401);
      expect(check.text).toMatch(/^GET \/ without a token → 401 ERR_TOKEN_REVOKED, /);
    } finally {
      probe.close();
    }
  });

  it("gives up at the deadline with the last answer", async () => {
    reset();
    const probe = new HttpProbe(base);
    try {
      const wait = await waitForStatus(probe, { path: "/" }, 401, { timeoutMs: 0, intervalMs: 0 });
      expect(wait).toMatchObject({ ok: false, attempts: 1 });
      expect(wait.last?.status).toBe(200);
      expect(answerCode(wait.last!)).toBeUndefined();
      expect(describeAnswer(wait.last!)).toBe("200");
    } finally {
      probe.close();
    }
  });

  it("reports the transport error when nothing answers", async () => {
    const probe = new HttpProbe("http://127.0.0.1:1");
    try {
      const wait = await waitForStatus(probe, { path: "/" }, 200, { timeoutMs: 0 });
      expect(wait.ok).toBe(false);
      expect(wait.last).toBeUndefined();
      expect(wait.lastError).toMatch(/ECONNREFUSED/);
    } finally {
      probe.close();
    }
  });
});

describe("parseMetric and readMetric", () => {
  it("read an unlabelled gauge, or the sample whose labels match", () => {
    const text = [
      "# HELP keyward_verifier_decisions_total Requests decided",
      "# TYPE keyward_verifier_decisions_total counter",
      'keyward_verifier_decisions_total{result="allow",code="OK"} 7',
      'keyward_verifier_decisions_total{result="deny",code="ERR_TOKEN_REVOKED"} 2',
      "keyward_verifier_bundle_generation 1795990685007",
      "keyward_verifier_bundle_generation_other 3",
    ].join("\n");
    expect(parseMetric(text, "keyward_verifier_bundle_generation")).toBe(1795990685007);
    expect(parseMetric(text, "keyward_verifier_decisions_total", { result: "deny" })).toBe(2);
    expect(parseMetric(text, "keyward_verifier_decisions_total", { result: "unavailable" })).toBeUndefined();
    expect(parseMetric(text, "keyward_verifier_ready")).toBeUndefined();
  });

  it("finds any value written for a metric, whatever lines surround it", () => {
    fc.assert(
      fc.property(fc.array(fc.string().map((s) => `# ${s.replace(/\n/g, " ")}`)), fc.integer({ min: 0, max: 2 ** 50 }), (comments, value) => {
        const text = [...comments, `keyward_verifier_bundle_generation ${value}`, ...comments].join("\n");
        expect(parseMetric(text, "keyward_verifier_bundle_generation")).toBe(value);
      }),
    );
  });

  it("reads a gauge from a /metrics endpoint", async () => {
    const probe = new HttpProbe(base);
    try {
      expect(await readMetric(probe, "keyward_verifier_bundle_generation")).toBe(42);
    } finally {
      probe.close();
    }
  });
});
