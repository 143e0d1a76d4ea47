import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { COMMAND_NAMES } from "../../src/plugin/index.ts";
import { run } from "./support.ts";

describe("kubectl keyward", () => {
  let dir = "";
  afterEach(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  it("lists its commands with --help and exits 0", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kubectl keyward <command>/);
    for (const name of COMMAND_NAMES) expect(r.stdout).toContain(`  ${name} `);
  });

  it("documents the flags of each command", async () => {
    for (const name of COMMAND_NAMES) {
      const r = await run([name, "--help"]);
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toContain(`Usage: kubectl keyward ${name}`);
      expect(r.stdout, name).toContain("--kubeconfig FILE");
    }
    expect((await run(["revoke", "--help"])).stdout).toMatch(/--deposed[\s\S]*--all[\s\S]*--before TIME/);
  });

  it("exits 2 with the usage when there is no command, and names a bad argument", async () => {
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: a command is required[\s\S]*Usage: kubectl keyward/);
    const bad = await run(["revoke", "reporting"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("error: kubectl keyward revoke needs exactly one of --deposed (tokens issued before the last rotation), --all (every token) and --before TIME\n");
    expect(bad.stdout).toBe("");
  });

  it("exits 1 naming the kubeconfig when it cannot find a cluster", async () => {
    dir = mkdtempSync(join(tmpdir(), "kubectl-keyward-"));
    const r = await run(["status"], { env: { HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: no Kubernetes configuration found.*Point --kubeconfig \(or KUBECONFIG\) at a kubeconfig/);
    const missing = await run(["status", "--kubeconfig", join(dir, "nope")], { env: {} });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`kubeconfig ${join(dir, "nope")} (from the kubeconfig path given) does not exist`);
  });

  it("reads ~/.kube/config when neither --kubeconfig nor KUBECONFIG is given, and its context's namespace", async () => {
    dir = mkdtempSync(join(tmpdir(), "kubectl-keyward-"));
    const kube = join(dir, ".kube");
    mkdirSync(kube);
    // A cluster nobody listens on: the error shows which file and namespace were used.
    writeFileSync(
      join(kube, "config"),
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]",
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: x, context: {cluster: c, user: u, namespace: tenant-x}}]",
        "current-context: x",
      ].join("\n"),
    );
    const r = await run(["status"], { env: { HOME: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: list apikeys.keyward.dev: cannot reach the API server at https:\/\/127.0.0.1:9.* \(to list apikeys in namespace "tenant-x"\)/);
  });
});
