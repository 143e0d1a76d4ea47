// npm run image (hack/dev image) — builds the keyward image without Docker, as an OCI archive.
//
//   node hack/image.ts                     ghcr.io/keyward/keyward:<package.json version>
//   node hack/image.ts --pause <binary>    keyward.local/pause:1 around a static binary
//   options: --out-dir <dir>   where archives go (default .cache/images)
//            --rebuild         build even when an archive of the same inputs exists
//
// The image has the layout and entrypoint of the Dockerfile's final stage, built from registry
// packages only: Node.js from the npm package node-linux-<arch>, its shared libraries from the
// Debian packages libc6, libgcc-s1 and libstdc++6, the app from `tsc` and `npm ci --omit=dev`.
// One uncompressed layer, written deterministically: the same inputs give the same digest
// (SOURCE_DATE_EPOCH sets the files' mtime and the created time; default 0). Load it with
// `ctr -n k8s.io images import <archive>`. Progress goes to stderr; the last line on stdout is
// JSON: {"archive", "image", "digest", "sizeBytes"}. docs/install.md, "The image without Docker".
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildKeyward, buildPause, type BuildOptions } from "./image/build.ts";

const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));

const log = (line: string): void => {
  console.error(`[image] ${line}`);
};

function epoch(): number {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === "") return 0;
  if (!/^\d+$/.test(raw)) throw new Error(`SOURCE_DATE_EPOCH must be a number of seconds, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pause: { type: "string" },
      "out-dir": { type: "string" },
      rebuild: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.error("usage: node hack/image.ts [--pause <static binary>] [--out-dir <dir>] [--rebuild]");
    return;
  }
  const options: BuildOptions = {
    repo: REPO,
    outDir: resolve(values["out-dir"] ?? resolve(REPO, ".cache", "images")),
    epoch: epoch(),
    rebuild: values.rebuild,
    log,
  };
  const start = Date.now();
  const result = values.pause !== undefined ? await buildPause(resolve(values.pause), options) : await buildKeyward(options);
  log(`${result.image} ${result.digest} ${(result.sizeBytes / 1e6).toFixed(1)} MB in ${((Date.now() - start) / 1000).toFixed(1)}s: ${result.archive}`);
  console.log(JSON.stringify(result));
}

main().catch((error: unknown) => {
  log(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
