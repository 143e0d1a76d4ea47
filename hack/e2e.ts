// npm run e2e (hack/dev e2e) — keyward end to end on a local node, as users run it:
//
//   1. builds (or reuses) the control-plane and node binaries and the images (no Docker);
//   2. starts a control plane and a node that runs Pods (src/controlplane/node), as root;
//   3. kubectl apply -k config/default (unchanged: the image it names is the one loaded),
//      waits for both controller replicas; kubectl apply -k config/samples; the echo
//      workload behind the config/verifier sidecar (test/e2e/echo/configmap);
//   4. runs test/e2e against it (requests go to the echo Service's ClusterIP, which this
//      machine routes into the node), with KEYWARD_E2E_NODE_STATE set so the failure tests
//      can kill containers, containerd and the kubelet;
//   5. prints the node's memory, and stops everything (also on failure or Ctrl-C).
//
// Arguments are passed to vitest (a file filter, --reporter=...).
//   KEYWARD_E2E_KEEP=1   keep the cluster running after the tests, until Ctrl-C
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../src/controlplane/index.ts";
import type { LocalNode } from "../src/controlplane/index.ts";
import { startLocalNode } from "./local-node.ts";

const TENANT = "acme";
const started = Date.now();
const log = (line: string): void => {
  console.error(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
};

function vitest(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "--config", "test/e2e/vitest.config.ts", ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: "inherit",
    });
    child.on("exit", (code, signal) => {
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}

function diagnose(node: LocalNode): void {
  for (const args of [
    ["get", "pods", "-A", "-o", "wide"],
    ["-n", "keyward-system", "logs", "deployment/keyward-controller", "--tail=60"],
    ["-n", TENANT, "logs", "deployment/echo", "-c", "keyward-verifier", "--tail=60"],
    ["get", "events", "-A", "--sort-by=.lastTimestamp"],
  ]) {
    try {
      console.error(`--- kubectl ${args.join(" ")}\n${node.kubectl(args)}`);
    } catch (error) {
      console.error(`--- kubectl ${args.join(" ")} failed: ${(error as Error).message}`);
    }
  }
}

async function main(): Promise<number> {
  const { node, nodeAssetsDir } = await startLocalNode(log);
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await node.stop();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      void stop().then(() => process.exit(130));
    });
  }
  try {
    const k = (...args: string[]): string => node.kubectl(args);
    log("kubectl apply -k config/default");
    k("apply", "-k", "config/default");
    k("wait", "--for=condition=established", "--timeout=60s", "crd", "-l", "app.kubernetes.io/part-of=keyward");
    k("-n", "keyward-system", "rollout", "status", "deployment/keyward-controller", "--timeout=180s");
    log("controller rolled out; kubectl apply -k config/samples and the protected echo workload");
    k("apply", "-k", "config/samples");
    k("apply", "-k", "test/e2e/echo/configmap");
    k("-n", TENANT, "rollout", "status", "deployment/echo", "--timeout=180s");
    const clusterIp = k("-n", TENANT, "get", "service", "echo", "-o", "jsonpath={.spec.clusterIP}").trim();
    log(`deployed; the echo Service is http://${clusterIp}`);

    const code = await vitest(process.argv.slice(2), {
      ...process.env,
      KEYWARD_E2E_KUBECONFIG: node.kubeconfigPath,
      KEYWARD_E2E_URL: `http://${clusterIp}`,
      KEYWARD_E2E_NAMESPACE: TENANT,
      KEYWARD_E2E_NODE_STATE: node.statePath,
      KEYWARD_E2E_CTR: join(nodeAssetsDir, "ctr"),
    });
    if (code !== 0) diagnose(node);
    const memory = [...node.controlPlane.memory(), ...node.memory()];
    const shims = memory.filter((m) => m.name === "containerd-shim-runc-v2");
    const rows = memory.filter((m) => m.name !== "containerd-shim-runc-v2").map((m) => `${m.name} ${(m.rssKiB / 1024).toFixed(0)} MiB (peak ${(m.peakRssKiB / 1024).toFixed(0)})`);
    rows.push(`${shims.length} shims ${(shims.reduce((sum, m) => sum + m.rssKiB, 0) / 1024).toFixed(0)} MiB`);
    log(`memory (RSS): ${rows.join(", ")}`);
    if (process.env.KEYWARD_E2E_KEEP === "1") {
      log(`keeping the cluster (KUBECONFIG=${node.kubeconfigPath}); Ctrl-C stops it`);
      await new Promise(() => undefined);
    }
    return code;
  } catch (error) {
    diagnose(node);
    throw error;
  } finally {
    await stop();
    log("stopped");
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
