// npm run cluster:up — a local control plane (etcd, kube-apiserver,
// kube-controller-manager) with keyward's CRDs installed, in the foreground
// until Ctrl-C. Uses the same binaries as the integration tests.
//
// npm run cluster:up -- --node  adds a node that runs Pods (as root, Linux): kube-scheduler,
// and containerd, runc, the CNI bridge, the kubelet and kube-proxy in a network namespace of
// their own, with the keyward image and the pause image loaded. Ctrl-C stops everything and
// restores every machine setting the node changed.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT, resolveAssets, startControlPlane } from "../src/controlplane/index.ts";
import { startLocalNode } from "./local-node.ts";

const log = (line: string): void => {
  console.error(`[cluster-up] ${line}`);
};

const { values } = parseArgs({ options: { node: { type: "boolean", default: false } } });

if (process.env.KEYWARD_TEST_KUBECONFIG) {
  log("KEYWARD_TEST_KUBECONFIG is set: that cluster already exists, nothing to start");
  process.exit(1);
}

const assets = await resolveAssets({ log });
if (assets.kind !== "binaries") throw new Error("resolveAssets returned a kubeconfig; expected binaries");
const crdDir = join(REPO_ROOT, "crds");

let stop: () => Promise<void>;
let summary: string;
if (values.node) {
  const { node, nodeAssetsDir, keywardImage } = await startLocalNode(log, { crdDir });
  stop = () => node.stop();
  summary = `
a node that runs Pods is Ready in ${(node.startupMs / 1000).toFixed(1)}s: ${node.server}
  kubeconfig: ${node.kubeconfigPath}
  kubectl:    ${join(nodeAssetsDir, "kubectl")}
  image:      ${keywardImage} (loaded)
  logs:       ${node.controlPlane.dir}/*.log ${node.dir}/*.log
  Pods:       ${node.network.podCidr}, Services ${node.network.serviceCidr}, both reachable from this machine

  export KUBECONFIG=${node.kubeconfigPath}
  kubectl apply -k config/default

Ctrl-C stops it, removes its files and restores the machine's settings.`;
} else {
  const cp = await startControlPlane({ assetsDir: assets.dir, crdDir, log });
  stop = () => cp.stop();
  summary = `
control plane ready in ${(cp.startupMs / 1000).toFixed(1)}s, keyward CRDs installed: ${cp.server}
  kubeconfig: ${cp.kubeconfigPath}
  logs:       ${cp.dir}/*.log

  export KUBECONFIG=${cp.kubeconfigPath}
  kubectl get apikeys -A

Ctrl-C stops it and removes ${cp.dir}.`;
}

let stopping = false;
const shutdown = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping`);
  stop().then(
    () => process.exit(0),
    (error: unknown) => {
      log(`stop failed: ${(error as Error).message}`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

console.log(summary);
