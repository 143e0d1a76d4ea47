// The supervision of the demo's child processes, with real processes (small Node scripts
// standing in for the keyward CLI, whose own behaviour the integration test covers).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePorts } from "../../src/controlplane/index.ts";
import { ChildExitedError, HttpProbe, Supervisor } from "../../src/demo/index.ts";

const root = mkdtempSync(join(tmpdir(), "keyward-demo-processes-"));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function script(name: string, text: string): string {
  const file = join(root, name);
  writeFileSync(file, text);
  return file;
}

/** Answers 503 to the first two requests, then 200 "ok"; logs each request. */
const SLOW_START = script(
  "slow-start.mjs",
  `import { createServer } from "node:http";
let n = 0;
createServer((req, res) => { n++; console.log("request", n, req.url); res.writeHead(n >= 3 ? 200 : 503).end(n >= 3 ? "ok" : "starting"); })
  .listen(Number(process.argv[2]), "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => { console.log("SIGTERM"); process.exit(0); });
`,
);
const CRASH = script("crash.mjs", `console.error("error: unknown flag --frobnicate"); process.exit(3);\n`);

function supervisor(program: string): Supervisor {
  return new Supervisor({ dir: mkdtempSync(join(root, "run-")), command: [process.execPath, program], stopGraceMs: 5_000 });
}

describe("Supervisor", () => {
  it("starts a child with its output in <dir>/<name>.log and waits until its health endpoint answers 200", async () => {
    const sup = supervisor(SLOW_START);
    const [port] = (await freePorts(1)) as [number];
    const child = sup.start("verifier", [String(port)]);
    const probe = new HttpProbe(`http://127.0.0.1:${port}`);
    try {
      expect(child.logPath).toBe(join(sup.dir, "verifier.log"));
      expect(await sup.waitHealthy(child, probe, "/readyz", { timeoutMs: 60_000 })).toBe("ok");
      expect(readFileSync(child.logPath, "utf8")).toContain("request 3 /readyz");
    } finally {
      probe.close();
      await sup.stopAll();
    }
    expect(child.hasExited()).toBe(true);
    expect(readFileSync(child.logPath, "utf8")).toContain("SIGTERM");
    expect(existsSync(sup.dir)).toBe(true);
  });

  it("fails the wait at once when the child exits, with its exit code and the end of its log", async () => {
    const sup = supervisor(CRASH);
    const [port] = (await freePorts(1)) as [number];
    const child = sup.start("controller", ["--frobnicate"]);
    const probe = new HttpProbe(`http://127.0.0.1:${port}`);
    try {
      const error = await sup.waitHealthy(child, probe, "/readyz", { timeoutMs: 120_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChildExitedError);
      expect((error as Error).message).toContain("controller exited with code 3");
      expect((error as Error).message).toContain("error: unknown flag --frobnicate");
      expect((error as Error).message).toContain(child.logPath);
    } finally {
      probe.close();
      await sup.stopAll();
    }
  });

  it("stops every child, the last started first, and can be asked twice", async () => {
    const sup = supervisor(SLOW_START);
    const ports = (await freePorts(2)) as [number, number];
    const first = sup.start("controller", [String(ports[0])]);
    const second = sup.start("verifier", [String(ports[1])]);
    const order: string[] = [];
    void first.exited.then(() => order.push("controller"));
    void second.exited.then(() => order.push("verifier"));
    await sup.stopAll();
    await sup.stopAll();
    expect(order).toEqual(["verifier", "controller"]);
    expect(sup.children.every((c) => c.hasExited())).toBe(true);
  });

  it("reports a program that cannot be started", async () => {
    const sup = new Supervisor({ dir: mkdtempSync(join(root, "run-")), command: [join(root, "no-such-program")] });
    const child = sup.start("controller", []);
    const probe = new HttpProbe("http://127.0.0.1:1");
    try {
      await expect(sup.waitHealthy(child, probe, "/readyz", { timeoutMs: 120_000 })).rejects.toThrow(/controller could not start: .*ENOENT/);
    } finally {
      probe.close();
      await sup.stopAll();
    }
  });
});
