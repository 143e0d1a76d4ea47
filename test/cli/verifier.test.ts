import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFixture, type Fixture } from "../verifier/support/fixture.ts";
import { bearer, eventually, send, signForTest, testBundleSigner } from "../verifier/support/http.ts";
import { publicJwkOf } from "../../src/token/index.ts";
import { Captured, run } from "./support.ts";

let fx: Fixture;
let dir: string;
let bundleFile: string;
let trustFile: string;

beforeAll(async () => {
  fx = await makeFixture();
  dir = await mkdtemp(join(tmpdir(), "keyward-cli-"));
  bundleFile = join(dir, "bundle.json");
  await writeFile(bundleFile, fx.bundleText());
  await writeFile(join(dir, "bundle.jws"), await signForTest(fx.bundleText(), Date.now()));
  trustFile = join(dir, "trust.json");
  await writeFile(trustFile, JSON.stringify({ keys: [publicJwkOf((await testBundleSigner()).jwk)] }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function startedPort(logText: string): number | null {
  for (const line of logText.split("\n")) {
    if (!line.includes('"event":"started"')) continue;
    const listen = (JSON.parse(line) as { listen: string }).listen;
    return Number(listen.split(":").pop());
  }
  return null;
}

describe("keyward verifier", () => {
  it("exits 2 naming the flag at fault", async () => {
    const r = await run(["verifier", "--mode", "authz", "--tenant", "acme", "--bundle-file", bundleFile, "--bundle-trust-file", trustFile, "--max-bundle-age", "soon"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--max-bundle-age");
    expect(r.stderr).toContain('"soon"');
  });

  it("exits 2 on an unknown flag", async () => {
    const r = await run(["verifier", "--mode", "authz", "--colour"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--colour");
  });

  it("documents each flag's environment variable in --help", async () => {
    const r = await run(["verifier", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--bundle-configmap NAMESPACE/NAME");
    expect(r.stdout).toContain("[KEYWARD_VERIFIER_MAX_BUNDLE_AGE]");
  });

  it("exits 1 when it cannot listen", async () => {
    const r = await run(["verifier", "--mode", "authz", "--listen", "203.0.113.1:1", "--metrics-listen", "off", "--tenant", "acme", "--bundle-file", bundleFile, "--bundle-trust-file", trustFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot start");
  });

  it("runs from its environment until stopped, then exits 0", async () => {
    const stop = new AbortController();
    const stdout = new Captured();
    const env = { KEYWARD_VERIFIER_MODE: "authz", KEYWARD_VERIFIER_LISTEN: "127.0.0.1:0", KEYWARD_VERIFIER_METRICS_LISTEN: "off", POD_NAMESPACE: "acme", KEYWARD_VERIFIER_BUNDLE_FILE: bundleFile, KEYWARD_VERIFIER_BUNDLE_TRUST_FILE: trustFile };
    const running = run(["verifier"], { env, stopSignal: stop.signal, stdout });
    await eventually(() => startedPort(stdout.text) !== null, "the verifier to start");
    const port = startedPort(stdout.text)!;
    expect((await send(port, { headers: bearer(await fx.token({ atMs: Date.now() - 1000 })) })).status).toBe(200);
    stop.abort();
    const r = await running;
    expect(r.code).toBe(0);
    expect(stdout.text).toContain('"event":"stopped"');
  });

  it("drains and exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, ["src/cli/main.ts", "verifier", "--mode", "authz", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--tenant", "acme", "--bundle-file", bundleFile, "--bundle-trust-file", trustFile], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { resolve(code); }));
    await eventually(() => startedPort(out) !== null, "the verifier to start", 20_000);
    const port = startedPort(out)!;
    expect((await send(port, { headers: bearer(await fx.token({ atMs: Date.now() - 1000 })) })).status).toBe(200);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(out).toContain('"event":"draining"');
    expect(out).toContain('"event":"stopped"');
  }, 30_000);
});
