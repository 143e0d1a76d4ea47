// A local node with keyward's images loaded, for hack/cluster-up.ts --node and hack/e2e.ts:
// the binaries (built or reused), the sandbox ("pause") image around hack/pause and the
// keyward image, both built without Docker (hack/image.ts), then the node itself.
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveAssets, resolveNodeAssets, startNode } from "../src/controlplane/index.ts";
import type { LocalNode } from "../src/controlplane/index.ts";
import { buildKeyward, buildPause } from "./image/build.ts";

const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface LocalNodeWithImages {
  node: LocalNode;
  nodeAssetsDir: string;
  keywardImage: string;
  keywardSizeBytes: number;
}

export async function startLocalNode(log: (line: string) => void, opts: { crdDir?: string } = {}): Promise<LocalNodeWithImages> {
  const assets = await resolveAssets({ log });
  if (assets.kind !== "binaries") throw new Error("a local node starts its own control plane: unset KEYWARD_TEST_KUBECONFIG");
  const nodeAssetsDir = await resolveNodeAssets({ log });
  const options = { repo: REPO, outDir: join(REPO, ".cache", "images"), epoch: 0, rebuild: false, log };
  const pause = await buildPause(join(nodeAssetsDir, "pause"), options);
  const keyward = await buildKeyward(options);
  log(`image ${keyward.image}: ${(keyward.sizeBytes / 1e6).toFixed(1)} MB`);
  const node = await startNode({
    controlPlaneAssetsDir: assets.dir,
    nodeAssetsDir,
    pauseImage: pause.archive,
    images: [keyward.archive],
    log,
    ...(opts.crdDir === undefined ? {} : { crdDir: opts.crdDir }),
  });
  return { node, nodeAssetsDir, keywardImage: keyward.image, keywardSizeBytes: keyward.sizeBytes };
}
