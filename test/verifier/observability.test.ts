// Decision logs and metrics: what they carry, and that a token never appears in them.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/verifier/log.ts";
import { makeFixture, TestClock, type Fixture } from "./support/fixture.ts";
import { bearer, LogCapture, send, startTestVerifier, startUpstream, type TestVerifier, type Upstream } from "./support/http.ts";

let fx: Fixture;
const clock = new TestClock();
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  fx = await makeFixture();
});

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function proxyVerifier(args: string[] = [], random?: () => number): Promise<{ v: TestVerifier; upstream: Upstream }> {
  const upstream = await startUpstream();
  const v = await startTestVerifier({
    args: ["--mode", "proxy", "--upstream", upstream.url, ...args],
    bundleText: fx.bundleText({ revoked: [{ jti: "cmV2b2tlZA", apiKey: "reporting", exp: null }] }),
    deps: { now: clock.now, ...(random === undefined ? {} : { random }) },
  });
  cleanup.push(() => upstream.close(), () => v.stop());
  return { v, upstream };
}

describe("decision logs", () => {
  it("log an allow with the jti, kid, ApiKey, matched rule, method and path", async () => {
    const { v } = await proxyVerifier();
    await send(v.port, { path: "/api/v0/items?secret=1", headers: bearer(await fx.token({ jti: "YWxsb3dlZC10b2tlbg" })) });
    const line = v.logs.events("decision")[0]!;
    expect(line).toMatchObject({
      decision: "allow", code: "OK", method: "GET", path: "/api/v0/items", apiKey: "reporting", tenant: "acme", jti: "YWxsb3dlZC10b2tlbg", kid: fx.reporting.kid,
      rule: { policy: "read", index: 0, effect: "Allow" },
    });
  });

  it("log every deny with its code, and the Deny rule that matched", async () => {
    const { v } = await proxyVerifier(["--decision-log-sample", "0"]);
    await send(v.port, { path: "/api/v0/admin/users", headers: bearer(await fx.token()) });
    await send(v.port, { headers: bearer(await fx.token({ jti: "cmV2b2tlZA" })) });
    const lines = v.logs.events("decision");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ decision: "deny", code: "ERR_POLICY_DENIED", status: 403, apiKey: "reporting", kid: fx.reporting.kid, rule: { policy: "no-admin", effect: "Deny" } });
    expect(lines[1]).toMatchObject({ decision: "deny", code: "ERR_TOKEN_REVOKED", status: 401, jti: "cmV2b2tlZA" });
  });

  it("log only the sampled fraction of allows", async () => {
    let r = 0.7;
    const { v } = await proxyVerifier(["--decision-log-sample", "0.5"], () => r);
    const token = await fx.token();
    await send(v.port, { headers: bearer(token) });
    r = 0.2;
    await send(v.port, { headers: bearer(token) });
    expect(v.logs.events("decision")).toHaveLength(1);
  });

  it("never contain a token or an Authorization header, whatever the outcome", async () => {
    const { v } = await proxyVerifier(["--log-level", "trace"]);
    const tokens = [await fx.token(), await fx.token({ jti: "cmV2b2tlZA" }), await fx.token({ key: fx.stranger }), await fx.token({ atMs: clock.now() - 86_400_000 })];
    for (const t of tokens) {
      await send(v.port, { headers: bearer(t) });
      await send(v.port, { path: "/api/v0/admin/x", headers: bearer(t) });
      await send(v.port, { headers: bearer(`${t}garbage`) });
      await send(v.port, { headers: bearer(t.split(".").slice(0, 2).join(".")) });
    }
    expect(v.logs.lines.length).toBeGreaterThan(tokens.length * 4);
    for (const t of tokens) {
      const signature = t.split(".")[2]!;
      expect(v.logs.text).not.toContain(t);
      expect(v.logs.text).not.toContain(signature);
    }
    expect(v.logs.text.toLowerCase()).not.toContain("bearer ");
  });

  it("redact an Authorization header or a token should one be handed to the logger", () => {
    const logs = new LogCapture();
    const logger = createLogger("info", logs);
    logger.info({ req: { headers: { authorization: "Bearer abc.def.ghi" } }, token: "abc.def.ghi", headers: { authorization: "Bearer xyz" } }, "oops");
    expect(logs.text).not.toContain("abc.def.ghi");
    expect(logs.text).not.toContain("xyz");
    expect(logs.text).toContain("[redacted]");
  });
});

describe("metrics", () => {
  it("count decisions by result and code, time them, and show the bundle generation and age", async () => {
    const { v } = await proxyVerifier();
    await send(v.port, { headers: bearer(await fx.token()) });
    await send(v.port, { headers: bearer(await fx.token()) });
    await send(v.port, { method: "DELETE", headers: bearer(await fx.token()) });
    await send(v.port);
    const r = await send(v.adminPort, { path: "/metrics" });
    expect(r.status).toBe(200);
    expect(r.body).toContain('keyward_verifier_decisions_total{result="allow",code="OK"} 2');
    expect(r.body).toContain('keyward_verifier_decisions_total{result="deny",code="ERR_POLICY_DENIED"} 1');
    expect(r.body).toContain('keyward_verifier_decisions_total{result="deny",code="ERR_TOKEN_MISSING"} 1');
    expect(r.body).toContain("keyward_verifier_decision_duration_seconds_count 4");
    expect(r.body).toContain("keyward_verifier_bundle_generation 1");
    expect(r.body).toContain("keyward_verifier_bundle_age_seconds 0");
    expect(r.body).toContain("keyward_verifier_ready 1");
    expect(r.body).toContain("# TYPE keyward_verifier_bundle_reload_failures_total counter");
    expect(r.body).not.toContain("process_cpu");
  });

  it("count requests refused for want of a bundle", async () => {
    const upstream = await startUpstream();
    const v = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", upstream.url], bundleText: null, deps: { now: clock.now } });
    cleanup.push(() => upstream.close(), () => v.stop());
    await send(v.port, { headers: bearer(await fx.token()) });
    const r = await send(v.adminPort, { path: "/metrics" });
    expect(r.body).toContain('keyward_verifier_decisions_total{result="unavailable",code="ERR_NO_BUNDLE"} 1');
    expect(r.body).toContain("keyward_verifier_ready 0");
  });
});
