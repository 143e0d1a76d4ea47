// vitest globalSetup of the `integration` project: one control plane for the
// whole run (or the cluster named by KEYWARD_TEST_KUBECONFIG), CRDs installed,
// the kubeconfig path provided to every test file, everything stopped at the end.
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { installCrds, REPO_ROOT, resolveAssets, startControlPlane } from "../../../src/controlplane/index.ts";
import type { ControlPlane } from "../../../src/controlplane/index.ts";
import "./provided.ts";

function log(line: string): void {
  process.stderr.write(`[controlplane] ${line}\n`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const assets = await resolveAssets({ log });
  let controlPlane: ControlPlane | undefined;
  let kubeconfigPath: string;
  const crdDir = join(REPO_ROOT, "crds");
  if (assets.kind === "kubeconfig") {
    log(`using the cluster of KEYWARD_TEST_KUBECONFIG=${assets.path}`);
    kubeconfigPath = assets.path;
    await installCrds(kubeconfigPath, crdDir, { log });
  } else {
    controlPlane = await startControlPlane({ assetsDir: assets.dir, crdDir, log });
    kubeconfigPath = controlPlane.kubeconfigPath;
  }
  project.provide("kubeconfigPath", kubeconfigPath);
  project.provide("controlPlaneAssetsDir", assets.kind === "binaries" ? assets.dir : "");

  return async () => {
    if (controlPlane === undefined) return;
    const peak = controlPlane.memory().map((m) => `${m.name} ${Math.round(m.peakRssKiB / 1024)} MiB`);
    if (peak.length > 0) log(`peak RSS: ${peak.join(", ")}`);
    await controlPlane.stop();
  };
}
