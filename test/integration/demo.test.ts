// The demo (hack/dev demo) end to end against the test run's cluster, in its --kubeconfig mode:
// the real controller and verifier as child processes, the samples, and the six steps through
// the verifier. Every step must pass, and nothing may be left behind: no process, no temporary
// directory, no namespace, no ClusterRotationPolicy the demo created. Also when it is stopped
// with SIGINT, with --keep and in the middle of its setup.
//
// The revocation budget (1 s by default) is raised here: the test checks that the revoked token
// is refused and that the time is measured, not how fast a shared machine is.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";
import { REPO_ROOT } from "../../src/controlplane/index.ts";
import { ALLOWED_PATH, runDemo, SCENARIO_TITLES, type DemoOptions, type StepRecord } from "../../src/demo/index.ts";
import { eventually, Kube } from "./harness/index.ts";

const kubeconfigPath = inject("kubeconfigPath");
const kube = new Kube(kubeconfigPath);
const DEMO_MAIN = "src/demo/main.ts";

function freshNamespace(): string {
  return `demo-${randomBytes(4).toString("hex")}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Each step that did not pass, with why: an empty list reads best when the test fails. */
function problems(steps: readonly StepRecord[]): string[] {
  return steps
    .filter((s) => s.outcome !== "pass")
    .map((s) => `${s.outcome} ${s.title}: ${[s.error, ...s.checks.filter((c) => !c.ok).map((c) => c.text)].filter((x) => x !== undefined).join("; ")}`);
}

async function clusterRotationPolicyDefault(): Promise<string | undefined> {
  const found = await kube.find({ apiVersion: "keyward.dev/v1alpha1", kind: "ClusterRotationPolicy", name: "default" });
  return found?.metadata.uid;
}

async function expectNamespaceGone(name: string): Promise<void> {
  expect(await kube.find({ apiVersion: "v1", kind: "Namespace", name })).toBeUndefined();
}

interface DemoProcess {
  output: () => string;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => void;
}

function startDemo(args: string[]): DemoProcess {
  const child = spawn(process.execPath, [DEMO_MAIN, "--kubeconfig", kubeconfigPath, "--no-color", "--revocation-budget", "60s", ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { resolve(code); }));
  return { output: () => out, exited, kill: (signal) => child.kill(signal) };
}

function pidsIn(text: string): number[] {
  return [...text.matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1]));
}

function dirIn(text: string): string {
  const dir = /files and logs in (\S+)/.exec(text)?.[1];
  if (dir === undefined) throw new Error(`the demo printed no directory:\n${text}`);
  return dir;
}

describe("the demo against an existing cluster (--kubeconfig)", () => {
  it("passes every step, measures the revocation and leaves nothing behind", async () => {
    const namespace = freshNamespace();
    const policyBefore = await clusterRotationPolicyDefault();
    const out: string[] = [];
    const options: DemoOptions = {
      cluster: { kind: "existing", kubeconfig: kubeconfigPath, source: "--kubeconfig" },
      namespace,
      keep: false,
      timeoutMs: 60_000,
      revocationBudgetMs: 60_000,
      color: false,
      workDir: undefined,
    };
    const result = await runDemo(options, { write: (t) => out.push(t), color: false });
    const text = out.join("");

    expect(problems(result.steps), text).toEqual([]);
    expect(result.ok).toBe(true);
    const titles = result.steps.map((s) => s.title);
    for (const title of SCENARIO_TITLES) expect(titles).toContain(title);
    expect(titles.at(-1)).toBe("cleaned up");
    expect(text).toMatch(/refused with 401 ERR_TOKEN_REVOKED [\d.]+ m?s after the API server accepted the patch/);
    expect(text).toMatch(/two kids: old \S{8}, new \S{8}/);
    expect(text).toMatch(/✓ \d+ of \d+ steps passed, (\d+) of \1 checks, in /);
    expect(text).not.toContain("eyJ"); // no token (a JWS starts with a base64url JSON header) in the output

    expect(result.pids).toHaveLength(2);
    for (const pid of result.pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(result.dir)).toBe(false);
    await expectNamespaceGone(namespace);
    expect(await clusterRotationPolicyDefault()).toBe(policyBefore);
  }, 300_000);

  it("with --keep serves until SIGINT, then stops everything, deletes its namespace and exits 0", async () => {
    const namespace = freshNamespace();
    const demo = startDemo(["--namespace", namespace, "--keep"]);
    try {
      await eventually("the demo waiting for Ctrl-C", () => Promise.resolve(demo.output().includes("Everything keeps running until Ctrl-C")), { timeoutMs: 240_000, intervalMs: 200 });
    } catch (error) {
      demo.kill("SIGINT");
      await demo.exited;
      throw new Error(`${(error as Error).message}\n${demo.output()}`, { cause: error });
    }
    const text = demo.output();
    const verifier = /verifier at (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
    expect(verifier, text).toBeDefined();
    const answer = await fetch(`${verifier ?? ""}${ALLOWED_PATH}`);
    expect(answer.status).toBe(401);
    expect(text).toContain(`TOKEN=$(kubectl-keyward token reporting -n ${namespace})`);

    demo.kill("SIGINT");
    expect(await demo.exited, demo.output()).toBe(0);
    const all = demo.output();
    expect(all).toContain("✓ cleaned up");
    expect(all).not.toContain("interrupted");
    const pids = pidsIn(all);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(dirIn(all))).toBe(false);
    await expectNamespaceGone(namespace);
  }, 300_000);

  it("refuses a namespace that exists, exits 1, and leaves that namespace alone", async () => {
    const namespace = freshNamespace();
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    try {
      const demo = startDemo(["--namespace", namespace]);
      expect(await demo.exited, demo.output()).toBe(1);
      const all = demo.output();
      expect(all).toContain(`namespace ${namespace} exists already in this cluster; the demo creates its own tenant: pass --namespace with a name that is not taken`);
      expect(all).toMatch(/– 1\. a valid token.*\(not run\)\n\s+the setup did not complete/);
      expect(all).toContain("✓ cleaned up");
      expect(pidsIn(all)).toEqual([]);
      expect(existsSync(dirIn(all))).toBe(false);
      const left = await kube.find({ apiVersion: "v1", kind: "Namespace", name: namespace });
      expect(left?.metadata.deletionTimestamp).toBeUndefined();
      expect(await kube.list({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", namespace })).toEqual([]);
    } finally {
      await kube.delete({ apiVersion: "v1", kind: "Namespace", name: namespace });
    }
  }, 120_000);

  it("stopped by SIGINT during its setup, cleans up and exits 130", async () => {
    const namespace = freshNamespace();
    const demo = startDemo(["--namespace", namespace]);
    await eventually("the controller ready", () => Promise.resolve(demo.output().includes("keyward controller ready")), { timeoutMs: 120_000, intervalMs: 50 });
    demo.kill("SIGINT");
    expect(await demo.exited, demo.output()).toBe(130);
    const all = demo.output();
    expect(all).toContain("SIGINT: stopping and cleaning up");
    expect(all).toContain("✓ cleaned up");
    expect(all).toMatch(/– 6\. "revoke all".*\(not run\)\n\s+interrupted/);
    for (const pid of pidsIn(all)) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(dirIn(all))).toBe(false);
    await expectNamespaceGone(namespace);
  }, 300_000);
});
