// The real build (hack/image.ts), twice from one snapshot of the inputs into two places: the
// same image digest and the same archive bytes; then the layer itself: everything root's and
// not writable by 65532, /tmp 1777, node and its loader in place, and (as root, with unshare)
// the entrypoint run as 65532:65532 on a read-only root holding nothing but the layer.
//
// It needs the npm registry, apt and about a minute, so it runs only when asked:
//   KEYWARD_IMAGE_BUILD=1 hack/dev test:unit test/image/build.test.ts
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTar, type ReadEntry } from "./support/tar.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const ENABLED = process.env.KEYWARD_IMAGE_BUILD === "1";
const INPUTS = ["src", "bin", "crds", "package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "hack/dev", "hack/image.ts", "hack/image"];

interface Result { archive: string; image: string; digest: string; sizeBytes: number }

let root = "";
const results: Result[] = [];
let layer: ReadEntry[] = [];

function build(snapshot: string, outDir: string): Result {
  const out = execFileSync(process.execPath, [join(snapshot, "hack", "image.ts"), "--rebuild", "--out-dir", outDir], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Result;
}

describe.skipIf(!ENABLED)("the keyward image, built for real", () => {
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "keyward-image-build-"));
    const snapshot = join(root, "repo");
    for (const input of INPUTS) cpSync(join(REPO, input), join(snapshot, input), { recursive: true });
    symlinkSync(join(REPO, "node_modules"), join(snapshot, "node_modules"));
    if (existsSync(join(REPO, ".cache", "node"))) {
      mkdirSync(join(snapshot, ".cache"));
      symlinkSync(join(REPO, ".cache", "node"), join(snapshot, ".cache", "node"));
    }
    results.push(build(snapshot, join(root, "out1")), build(snapshot, join(root, "out2")));
    const archive = readTar(readFileSync(results[0]!.archive));
    const index = JSON.parse(archive.find((e) => e.name === "index.json")!.data.toString()) as { manifests: { digest: string }[] };
    const blob = (digest: string): Buffer => archive.find((e) => e.name === `blobs/sha256/${digest.slice(7)}`)!.data;
    const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString()) as { layers: { digest: string }[] };
    layer = readTar(blob(manifest.layers[0]!.digest));
  }, 240_000);

  afterAll(() => {
    if (root !== "") rmSync(root, { recursive: true, force: true });
  });

  it("gives the same digest and the same archive bytes when built twice from the same inputs", () => {
    const [a, b] = results;
    expect(a!.image).toMatch(/^ghcr\.io\/keyward\/keyward:\d+\.\d+\.\d+/);
    expect(b!.digest).toBe(a!.digest);
    expect(readFileSync(b!.archive).equals(readFileSync(a!.archive))).toBe(true);
  });

  it("holds only root-owned entries with mtime 0, none writable by anyone but root except the sticky /tmp", () => {
    for (const e of layer) {
      expect([e.name, e.uid, e.gid, e.mtime]).toEqual([e.name, 0, 0, 0]);
      if (e.typeflag !== "2" && e.name !== "tmp/") expect([e.name, e.mode & 0o022]).toEqual([e.name, 0]);
    }
    expect(layer.find((e) => e.name === "tmp/")?.mode).toBe(0o1777);
  });

  it("has the Dockerfile's layout: node, its loader and libraries, /app with dist and production node_modules, the user database", () => {
    const names = new Set(layer.map((e) => e.name));
    for (const name of ["nodejs/bin/node", "app/package.json", "app/bin/keyward.js", "app/dist/cli/main.js", "app/node_modules/@kubernetes/client-node/package.json", "app/crds/", "etc/passwd", "etc/group"]) {
      expect(names, name).toContain(name);
    }
    expect([...names].filter((n) => /node_modules\/(vitest|typescript|eslint)\//.test(n))).toEqual([]);
    expect(names).not.toContain("app/package-lock.json");
    expect(layer.find((e) => e.name === "nodejs/bin/node")?.mode).toBe(0o755);
    expect([...names].some((n) => /^lib\/[^/]+-linux-gnu\/libc\.so\.6$/.test(n))).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)("runs its entrypoint as 65532:65532 on a read-only root holding only the layer", () => {
    const rootfs = join(root, "rootfs");
    mkdirSync(rootfs);
    const layerFile = join(root, "layer.tar");
    const archiveDir = join(root, "archive");
    mkdirSync(archiveDir);
    execFileSync("tar", ["-xf", results[0]!.archive, "-C", archiveDir]);
    const index = JSON.parse(readFileSync(join(archiveDir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(readFileSync(join(archiveDir, "blobs", "sha256", index.manifests[0]!.digest.slice(7)), "utf8")) as { layers: { digest: string }[] };
    cpSync(join(archiveDir, "blobs", "sha256", manifest.layers[0]!.digest.slice(7)), layerFile);
    execFileSync("tar", ["--numeric-owner", "-xpf", layerFile, "-C", rootfs]);
    const script = [
      `mount --bind ${rootfs} ${rootfs}`,
      `mount -o remount,bind,ro ${rootfs}`,
      `exec unshare --root=${rootfs} --wd=/app --setuid 65532 --setgid 65532 /nodejs/bin/node -e "` +
        `const fs = require('node:fs'); let w = 'writable'; try { fs.writeFileSync('/tmp/x', '') } catch (e) { w = e.code }` +
        `; console.log(process.getuid(), process.getgid(), require('node:os').userInfo().username, w)"`,
      "",
    ].join("\n");
    const run = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-euc", script], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("65532 65532 nonroot EROFS");
    const help = spawnSync("unshare", ["--mount", "--propagation", "private", "sh", "-euc", script.replace(/\/nodejs\/bin\/node -e .*$/m, "/nodejs/bin/node bin/keyward.js --help")], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout + help.stderr).toMatch(/keyward/);
  });
});
