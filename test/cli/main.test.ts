import { describe, expect, it } from "vitest";
import { run } from "./support.ts";

describe("keyward", () => {
  it("lists its commands with --help and exits 0", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("verifier");
    expect(r.stdout).toContain("token verify");
  });

  it("prints the usage and exits 2 without a command", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: keyward <command>");
  });

  it("names an unknown command and exits 2", async () => {
    const r = await run(["verfier"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "verfier"');
  });

  it("lists the subcommands of a group given alone", async () => {
    const r = await run(["token"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("token verify");
    expect((await run(["token", "--help"])).code).toBe(0);
    expect((await run(["token", "inspect"])).stderr).toContain('unknown command "token inspect"');
  });
});
