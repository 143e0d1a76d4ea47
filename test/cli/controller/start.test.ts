import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { runControllerCommand } from "../../../src/cli/controller/command.ts";

function io(env: Record<string, string> = {}): { stdout: PassThrough; stderr: PassThrough; env: Record<string, string>; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: [] as string[], err: [] as string[] };
  stdout.on("data", (c: Buffer) => chunks.out.push(c.toString()));
  stderr.on("data", (c: Buffer) => chunks.err.push(c.toString()));
  return { stdout, stderr, env, out: () => chunks.out.join(""), err: () => chunks.err.join("") };
}

describe("keyward controller", () => {
  it("prints its flags with --help", async () => {
    const t = io();
    expect(await runControllerCommand(["--help"], t)).toBe(0);
    expect(t.out()).toContain("Usage: keyward controller [flags]");
    expect(t.out()).toContain("[KEYWARD_NAMESPACES]");
  });

  it("refuses a bad flag with exit code 2 and the fix", async () => {
    const t = io();
    expect(await runControllerCommand(["--workers", "lots"], t)).toBe(2);
    expect(t.err()).toContain("keyward controller: --workers must be a whole number from 1 to 64");
  });

  it("refuses --leader-elect without a namespace for the Lease", async () => {
    const t = io();
    expect(await runControllerCommand(["--leader-elect", "--kubeconfig", "/nonexistent"], t)).toBe(2);
    expect(t.err()).toContain("--leader-election-namespace or POD_NAMESPACE");
  });

  it("says why it cannot start when no cluster is configured, with exit code 1", async () => {
    const t = io({ KEYWARD_METRICS_BIND_ADDRESS: "0", KEYWARD_HEALTH_PROBE_BIND_ADDRESS: "0" });
    expect(await runControllerCommand([], t)).toBe(1);
    expect(t.err()).toMatch(/keyward controller: cannot start: .*KUBECONFIG is not set/);
  });
});
