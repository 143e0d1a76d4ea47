import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/keyward.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "keyward-bin-"));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("bin/keyward.js", () => {
  it("says in one line what to run, with no stack, in a checkout without dist/", () => {
    mkdirSync(join(dir, "bin"));
    copyFileSync(BIN, join(dir, "bin", "keyward.js"));
    const run = spawnSync(process.execPath, [join(dir, "bin", "keyward.js"), "--help"], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/dist\/ is missing.*hack\/dev build/);
    expect(run.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|at .*:\d+:\d+/);
  });
});
