// The server's limits and its graceful drain.

import { connect, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeFixture, TestClock, type Fixture } from "./support/fixture.ts";
import { bearer, eventually, send, startTestVerifier, startUpstream, type TestVerifier, type Upstream } from "./support/http.ts";

let fx: Fixture;
const clock = new TestClock();
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  fx = await makeFixture();
});

afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function proxyVerifier(args: string[], upstream?: Upstream): Promise<{ v: TestVerifier; upstream: Upstream }> {
  const up = upstream ?? (await startUpstream());
  const v = await startTestVerifier({ args: ["--mode", "proxy", "--upstream", up.url, ...args], bundleText: fx.bundleText(), deps: { now: clock.now } });
  cleanup.push(() => up.close(), () => v.stop());
  return { v, upstream: up };
}

/** Sends raw bytes on a new connection and collects everything until the server closes it. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let got = "";
    socket.on("data", (c: Buffer) => (got += c.toString("latin1")));
    socket.on("close", () => { resolve(got); });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNRESET") resolve(got);
      else reject(err);
    });
    socket.write(text);
  });
}

describe("limits", () => {
  it("answers 431 to a request head larger than --max-header-bytes, with nothing from the request", async () => {
    const { v, upstream } = await proxyVerifier(["--max-header-bytes", "2048"]);
    const answer = await raw(v.port, `GET /api/v0/items HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(4096)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).not.toContain("aaaa");
    expect(upstream.seen).toHaveLength(0);
  });

  it("answers 400 to a malformed request", async () => {
    const { v } = await proxyVerifier([]);
    expect(await raw(v.port, "GET /api/v0/items HTTP/1.1\r\nHost x\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("answers 431 to a request with more headers than --max-header-count", async () => {
    const { v, upstream } = await proxyVerifier(["--max-header-count", "10"]);
    const filler: Record<string, string> = {};
    for (let i = 0; i < 12; i++) filler[`x-filler-${i}`] = "1";
    const r = await send(v.port, { headers: { host: "x", ...filler, ...bearer(await fx.token()) } });
    expect(r.status).toBe(431);
    expect(upstream.seen).toHaveLength(0);
    expect((await send(v.port, { headers: { host: "x", "x-filler": "1", ...bearer(await fx.token()) } })).status).toBe(200);
  });

  it("refuses connections beyond --max-connections", async () => {
    const { v } = await proxyVerifier(["--max-connections", "1"]);
    const first: Socket = connect(v.port, "127.0.0.1");
    cleanup.push(() => {
      first.destroy();
      return Promise.resolve();
    });
    await new Promise<void>((resolve) => first.on("connect", resolve));
    // The first connection is held open; a second one is closed without an answer.
    await eventually(async () => (await raw(v.port, "GET /api/v0/items HTTP/1.1\r\nHost: x\r\n\r\n")) === "", "the second connection to be refused");
  });
});

describe("drain", () => {
  it("stops accepting, lets a request in flight finish, then stops", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const arrivedP = new Promise<void>((resolve) => (arrived = resolve));
    const slow = await startUpstream((_req, res) => {
      arrived();
      void released.then(() => res.writeHead(200).end("finished"));
    });
    const { v } = await proxyVerifier([], slow);
    const inFlight = send(v.port, { headers: bearer(await fx.token()) });
    await arrivedP;

    const drained = v.verifier.drain(10_000);
    expect(v.verifier.draining()).toBe(true);
    await expect(send(v.port, { headers: bearer(await fx.token()) })).rejects.toMatchObject({ code: "ECONNREFUSED" });

    release();
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.body).toBe("finished");
    expect(r.headers.connection).toBe("close");
    await drained;
    expect(v.logs.events("stopped")).toHaveLength(1);
  });

  it("cuts requests still running at the deadline", async () => {
    let arrived = false;
    const stuck = await startUpstream(() => {
      arrived = true;
    });
    const { v } = await proxyVerifier(["--upstream-timeout", "1h"], stuck);
    const inFlight = send(v.port, { headers: bearer(await fx.token()) }).then(
      () => "answered",
      () => "cut",
    );
    await eventually(() => arrived, "the request to reach the workload");
    await v.verifier.drain(50);
    expect(await inFlight).toBe("cut");
  });

  it("reports not ready while draining", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let arrived!: () => void;
    const arrivedP = new Promise<void>((resolve) => (arrived = resolve));
    const slow = await startUpstream((_req, res) => {
      arrived();
      void released.then(() => res.writeHead(200).end());
    });
    const { v } = await proxyVerifier([], slow);
    const inFlight = send(v.port, { headers: bearer(await fx.token()) });
    await arrivedP;
    const drained = v.verifier.drain(10_000);
    const r = await send(v.adminPort, { path: "/readyz" });
    expect(r.status).toBe(503);
    expect(r.body).toContain("draining");
    release();
    await inFlight;
    await drained;
  });
});
