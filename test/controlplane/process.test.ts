import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isAlive, startProcess, tailFile } from "../../src/controlplane/process.ts";

describe("a managed process", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "keyward-process-test-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes its stdout and stderr to its log file", async () => {
    const proc = startProcess({ name: "echo", command: "sh", args: ["-c", "echo out; echo err >&2"], logPath: join(dir, "echo.log") });
    const exit = await proc.exited;
    expect(exit.code).toBe(0);
    expect(proc.hasExited()).toBe(true);
    expect(proc.tail().split("\n").sort()).toEqual(["err", "out"]);
  });

  it("stops with SIGTERM a process that honours it", async () => {
    const proc = startProcess({ name: "sleep", command: "sleep", args: ["1000"], logPath: join(dir, "sleep.log") });
    expect(isAlive(proc.pid)).toBe(true);
    const exit = await proc.stop(60_000);
    expect(exit.signal).toBe("SIGTERM");
    expect(isAlive(proc.pid)).toBe(false);
  });

  it("kills with SIGKILL a process that ignores SIGTERM once the grace period is over", async () => {
    const proc = startProcess({
      name: "stubborn",
      command: "sh",
      args: ["-c", "trap '' TERM; echo ready; while :; do sleep 1; done"],
      logPath: join(dir, "stubborn.log"),
    });
    for (let i = 0; i < 500 && proc.tail() !== "ready"; i++) await new Promise((r) => setTimeout(r, 10));
    const exit = await proc.stop(100);
    expect(exit.signal).toBe("SIGKILL");
    expect(isAlive(proc.pid)).toBe(false);
  });

  it("reports a command that does not exist as an exit with an error", async () => {
    const proc = startProcess({ name: "missing", command: join(dir, "no-such-binary"), args: [], logPath: join(dir, "missing.log") });
    const exit = await proc.exited;
    expect(exit.error?.message).toMatch(/ENOENT/);
  });

  it("tails only the last lines of a log and nothing of a missing one", () => {
    const path = join(dir, "long.log");
    writeFileSync(path, Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n") + "\n");
    expect(tailFile(path, 3)).toBe("line 97\nline 98\nline 99");
    expect(tailFile(join(dir, "absent.log"))).toBe("");
  });
});
