import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, inject, it } from "vitest";
import { kubeJson, loadKubeConfig, startControlPlane, StartupError } from "../../../src/controlplane/index.ts";
import { eventually } from "./kube.ts";
import "./provided.ts";

const assetsDir = inject("controlPlaneAssetsDir");

/** Pids of live processes whose command line mentions `dir` (etcd's --data-dir, the certificate flags, …). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1];
      if (cmdline.includes(dir) && state !== "Z" && Number(entry) !== process.pid) pids.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

/** Whether `pid` is a live process (a zombie, dead but not yet reaped by its parent, is not). */
function isRunning(pid: number): boolean {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] !== "Z";
  } catch {
    return false;
  }
}

describe("the local control plane", () => {
  let parent: string;
  afterEach(() => {
    rmSync(parent, { recursive: true, force: true });
  });

  it("serves the API with RBAC on and, once stopped, leaves no process and no directory behind", async () => {
    parent = mkdtempSync(join(tmpdir(), "keyward-cp-test-"));
    const cp = await startControlPlane({ assetsDir, workDir: parent });
    const pids = Object.values(cp.pids);
    try {
      expect(pids.every(isRunning)).toBe(true);
      expect(existsSync(cp.dir)).toBe(true);
      const kc = loadKubeConfig(cp.kubeconfigPath);
      const review = await kubeJson<{ status: { allowed: boolean } }>(kc, {
        method: "POST",
        path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec: { user: "someone", resourceAttributes: { verb: "list", resource: "secrets", namespace: "default" } },
        },
      });
      expect(review.status.allowed).toBe(false);
      expect(cp.memory().map((m) => m.name)).toEqual(["etcd", "kube-apiserver", "kube-controller-manager"]);
    } finally {
      await cp.stop();
    }
    expect(pids.filter(isRunning)).toEqual([]);
    expect(processesUsing(cp.dir)).toEqual([]);
    expect(existsSync(cp.dir)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  it("reports the failing component with the tail of its log and cleans up what it had started", async () => {
    parent = mkdtempSync(join(tmpdir(), "keyward-cp-test-"));
    const failure = await startControlPlane({ assetsDir, workDir: parent, apiServerFlags: ["--no-such-flag=1"] }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StartupError);
    expect((failure as Error).message).toMatch(/kube-apiserver exited \(code 1/);
    expect((failure as Error).message).toContain("unknown flag: --no-such-flag");
    expect(processesUsing(parent)).toEqual([]);
    expect(readdirSync(parent)).toEqual([]);
  });

  it("is torn down by its watchdog when the process that started it is killed with SIGKILL", async () => {
    parent = mkdtempSync(join(tmpdir(), "keyward-cp-test-"));
    const script = fileURLToPath(new URL("fixtures/start-and-wait.ts", import.meta.url));
    const child = spawn(process.execPath, [script, assetsDir, parent], { stdio: ["ignore", "pipe", "inherit"] });
    const started = await new Promise<{ dir: string; pids: Record<string, number> }>((resolve, reject) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
        out += chunk;
        const line = out.split("\n")[0];
        if (out.includes("\n") && line !== undefined) resolve(JSON.parse(line) as { dir: string; pids: Record<string, number> });
      });
      child.once("exit", (code) => {
        reject(new Error(`the fixture exited (code ${code ?? "signal"}) before the control plane was ready`));
      });
    });
    expect(Object.values(started.pids).every(isRunning)).toBe(true);
    child.kill("SIGKILL");
    await eventually("the watchdog to stop the orphaned control plane", () => Promise.resolve(processesUsing(parent).length === 0), { timeoutMs: 30_000 });
    await eventually("the watchdog to remove the work directory", () => Promise.resolve(!existsSync(started.dir)), { timeoutMs: 10_000 });
    expect(Object.values(started.pids).filter(isRunning)).toEqual([]);
  });
});
