import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const fixture = fileURLToPath(new URL("fixtures/reaper-parent.ts", import.meta.url));

function running(pid: number): boolean {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] !== "Z";
  } catch {
    return false;
  }
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function runFixture(args: string[]): Promise<{ child: ReturnType<typeof spawn>; pid: number }> {
  const child = spawn(process.execPath, [fixture, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (out.includes("\n")) resolve({ child, pid: Number(out.trim()) });
    });
    child.once("error", reject);
  });
}

describe("the watchdog", () => {
  let dir: string;
  let pids: number[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "keyward-reaper-test-"));
    mkdirSync(join(dir, "work"));
  });
  afterEach(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    pids = [];
    rmSync(dir, { recursive: true, force: true });
  });

  it("kills the watched processes and removes the directory when its parent dies by SIGKILL", async () => {
    const { child, pid } = await runFixture([join(dir, "work")]);
    pids.push(pid);
    expect(running(pid)).toBe(true);
    child.kill("SIGKILL");
    await until("the watched process to be killed", () => !running(pid));
    await until("the directory to be removed", () => !existsSync(join(dir, "work")));
  });

  it("leaves everything alone once released", async () => {
    const { child, pid } = await runFixture([join(dir, "work"), "release"]);
    pids.push(pid);
    await new Promise((resolve) => child.once("exit", resolve));
    expect(running(pid)).toBe(true);
    expect(existsSync(join(dir, "work"))).toBe(true);
  });
});
