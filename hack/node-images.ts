// The images a local node runs, built without Docker (hack/image.ts): the sandbox
// ("pause") image around hack/pause, and the keyward image.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildKeyward, buildPause } from "./image/build.ts";

const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));

export interface NodeImages {
  pause: string;
  keyward: string;
  keywardImage: string;
  keywardSizeBytes: number;
}

export async function buildNodeImages(nodeAssetsDir: string, log: (line: string) => void): Promise<NodeImages> {
  const options = { repo: REPO, outDir: resolve(REPO, ".cache", "images"), epoch: 0, rebuild: false, log };
  const pause = await buildPause(resolve(nodeAssetsDir, "pause"), options);
  const keyward = await buildKeyward(options);
  return { pause: pause.archive, keyward: keyward.archive, keywardImage: keyward.image, keywardSizeBytes: keyward.sizeBytes };
}
