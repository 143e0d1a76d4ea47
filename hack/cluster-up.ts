// npm run cluster:up — a local control plane (etcd, kube-apiserver,
// kube-controller-manager) with keyward's CRDs installed, in the foreground
// until Ctrl-C. Uses the same binaries as the integration tests.
import { join } from "node:path";
import { REPO_ROOT, resolveAssets, startControlPlane } from "../src/controlplane/index.ts";

const log = (line: string): void => {
  console.error(`[cluster-up] ${line}`);
};

if (process.env.KEYWARD_TEST_KUBECONFIG) {
  log("KEYWARD_TEST_KUBECONFIG is set: that cluster already exists, nothing to start");
  process.exit(1);
}

const assets = await resolveAssets({ log });
if (assets.kind !== "binaries") throw new Error("resolveAssets returned a kubeconfig; expected binaries");
const crdDir = join(REPO_ROOT, "crds");
const cp = await startControlPlane({ assetsDir: assets.dir, crdDir, log });

let stopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  cp.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      log(`stop failed: ${(error as Error).message}`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

console.log(`
control plane ready in ${(cp.startupMs / 1000).toFixed(1)}s, keyward CRDs installed: ${cp.server}
  kubeconfig: ${cp.kubeconfigPath}
  logs:       ${cp.dir}/*.log

  export KUBECONFIG=${cp.kubeconfigPath}
  kubectl get apikeys -A

Ctrl-C stops it and removes ${cp.dir}.`);
