import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { checkAssetsDir } from "./binaries.ts";

export type Assets = { kind: "binaries"; dir: string } | { kind: "kubeconfig"; path: string };

export interface ResolveAssetsOptions {
  /** Environment to read KEYWARD_TEST_KUBECONFIG, KEYWARD_TEST_ASSETS and KEYWARD_CACHE_DIR from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The script that builds or reuses the binaries (default <repo>/hack/test-binaries.sh). */
  buildScript?: string;
  /** Progress lines of the build. */
  log?: (line: string) => void;
}

/** The repository root, two levels above this file (src/controlplane or dist/controlplane). */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

function runBuildScript(script: string, env: NodeJS.ProcessEnv, log: (line: string) => void, args: readonly string[] = []): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("bash", [script, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderrTail: string[] = [];
    let partial = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) log(line);
      stderrTail = [...stderrTail, ...lines].slice(-30);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (partial !== "") log(partial);
      if (code !== 0) {
        reject(new Error(`bash ${script} failed (exit ${code ?? "signal"}):\n${[...stderrTail, partial].join("\n")}`));
        return;
      }
      const last = stdout.trim().split("\n").pop() ?? "";
      resolvePromise(last);
    });
  });
}

/**
 * Decides what the integration tests run against:
 * - KEYWARD_TEST_KUBECONFIG: an existing disposable cluster; nothing is started.
 * - KEYWARD_TEST_ASSETS: a directory holding etcd, kube-apiserver and kube-controller-manager.
 * - otherwise hack/test-binaries.sh builds the binaries (or reuses its cache under KEYWARD_CACHE_DIR).
 */
export async function resolveAssets(opts: ResolveAssetsOptions = {}): Promise<Assets> {
  const env = opts.env ?? process.env;
  const kubeconfig = env.KEYWARD_TEST_KUBECONFIG;
  if (kubeconfig !== undefined && kubeconfig !== "") {
    const path = resolve(kubeconfig);
    let isFile = false;
    try {
      isFile = statSync(path).isFile();
    } catch {
      // handled below
    }
    if (!isFile) throw new Error(`KEYWARD_TEST_KUBECONFIG: ${path} is not a file; point it at the kubeconfig of a disposable cluster`);
    return { kind: "kubeconfig", path };
  }
  const assets = env.KEYWARD_TEST_ASSETS;
  if (assets !== undefined && assets !== "") {
    const dir = resolve(assets);
    checkAssetsDir(dir, "KEYWARD_TEST_ASSETS");
    return { kind: "binaries", dir };
  }
  const script = opts.buildScript ?? join(REPO_ROOT, "hack", "test-binaries.sh");
  const dir = await runBuildScript(script, env, opts.log ?? (() => undefined));
  checkAssetsDir(dir, script);
  return { kind: "binaries", dir };
}

/**
 * The directory of the node's executables (kubelet, kube-scheduler, kube-proxy, kubectl,
 * containerd, its shim, ctr, pause): KEYWARD_NODE_ASSETS, or hack/test-binaries.sh --node
 * builds them (or reuses its cache).
 */
export async function resolveNodeAssets(opts: ResolveAssetsOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const given = env.KEYWARD_NODE_ASSETS;
  if (given !== undefined && given !== "") return resolve(given);
  const script = opts.buildScript ?? join(REPO_ROOT, "hack", "test-binaries.sh");
  return runBuildScript(script, env, opts.log ?? (() => undefined), ["--node"]);
}
