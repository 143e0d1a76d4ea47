import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("fixtures/cleanup-child.ts", import.meta.url));

describe("last-resort cleanup", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "keyward-cleanup-test-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("stops a running control plane on SIGTERM and then dies of the signal", async () => {
    const child = spawn(process.execPath, [fixture, dir, "signal"], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => {
      child.stdout.once("data", () => {
        resolve();
      });
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => {
        resolve({ code, signal });
      }),
    );
    child.kill("SIGTERM");
    expect(await exited).toEqual({ code: null, signal: "SIGTERM" });
    expect(existsSync(join(dir, "stopped"))).toBe(true);
  });

  it("kills a control plane nobody stopped when the process exits", async () => {
    const child = spawn(process.execPath, [fixture, dir, "exit"], { stdio: ["ignore", "ignore", "inherit"] });
    const code = await new Promise((resolve) => child.once("exit", resolve));
    expect(code).toBe(0);
    expect(existsSync(join(dir, "killed"))).toBe(true);
    expect(existsSync(join(dir, "stopped"))).toBe(false);
  });
});
