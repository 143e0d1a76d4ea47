// The two images hack/image.ts builds, each into one OCI archive in the output directory, named
// after the image and the key of its inputs, and reused while that key stays the same:
//
//   keyward   ghcr.io/keyward/keyward:<version>: /app as the Dockerfile's final stage lays it out,
//             /nodejs/bin/node, the libraries node needs from Debian packages, /etc/passwd and
//             /etc/group with nonroot (65532), an empty /tmp (1777); runs as 65532:65532.
//   pause     keyward.local/pause:1: one static binary, /pause, the sandbox image of a local node.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { stageApp } from "./app.ts";
import { fetchDebs, type DebPackage } from "./debs.ts";
import { sha256, sha256File } from "./digest.ts";
import { inputsKey, treeDigest } from "./inputs.ts";
import { elfInterpreter, libraryEntries } from "./libraries.ts";
import { nodeDist, pinnedNodeVersion } from "./node.ts";
import { writeOciArchive, type ImageSpec, type Platform } from "./oci.ts";
import { NONROOT, treeEntries, userDatabase, withParents } from "./rootfs.ts";
import { sortEntries, writeTarFile, type TarEntry } from "./tar.ts";

/** The Debian packages whose files node needs: the C library and loader, the C++ runtime. */
export const DEB_PACKAGES = ["libc6", "libgcc-s1", "libstdc++6"] as const;
export const PAUSE_IMAGE = "keyward.local/pause:1";
export const IMAGE_REPOSITORY = "ghcr.io/keyward/keyward";
const PATH_ENV = "PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface BuildOptions {
  repo: string;
  /** Where archives (and the package cache) go. */
  outDir: string;
  /** mtime of every file, and the image's created time, in seconds (SOURCE_DATE_EPOCH). */
  epoch: number;
  /** Build even when an archive for the same inputs exists. */
  rebuild: boolean;
  log: (line: string) => void;
}

/** What hack/image.ts prints: the archive, the image name, the manifest digest, the size. */
export interface BuildResult {
  archive: string;
  image: string;
  digest: string;
  sizeBytes: number;
}

export function platform(arch: string = process.arch): Platform {
  if (arch === "x64") return { os: "linux", architecture: "amd64" };
  if (arch === "arm64") return { os: "linux", architecture: "arm64" };
  throw new Error(`images are built for x64 or arm64, not ${arch}`);
}

export function createdAt(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** A digest of the builder itself (hack/image.ts and hack/image/), so a change to it rebuilds. */
function builderDigest(repo: string): string {
  return sha256(`${sha256(readFileSync(join(repo, "hack", "image.ts")))} ${treeDigest(join(repo, "hack", "image"))}`);
}

/**
 * Returns the archive for `key` if one exists (and `rebuild` is off); else builds it with `make`
 * into a temporary file, moves it into place and removes older archives of the same image.
 */
async function cachedArchive(
  options: BuildOptions,
  base: string,
  image: string,
  key: string,
  make: (archive: string, work: string) => Promise<{ digest: string; size: number }>,
): Promise<BuildResult> {
  mkdirSync(options.outDir, { recursive: true });
  const name = `${base}-${key.slice("sha256:".length, "sha256:".length + 16)}`;
  const archive = join(options.outDir, `${name}.oci.tar`);
  const meta = join(options.outDir, `${name}.json`);
  if (!options.rebuild && existsSync(archive) && existsSync(meta)) {
    const result = JSON.parse(readFileSync(meta, "utf8")) as BuildResult;
    if (result.archive === archive && statSync(archive).size === result.sizeBytes) {
      options.log(`${image}: inputs unchanged, reusing ${archive}`);
      return result;
    }
  }
  const work = mkdtempSync(join(options.outDir, `.work-${base}-`));
  try {
    const tmp = join(work, "archive.oci.tar");
    const built = await make(tmp, work);
    renameSync(tmp, archive);
    const result: BuildResult = { archive, image, digest: built.digest, sizeBytes: built.size };
    writeFileSync(meta, `${JSON.stringify(result, null, 2)}\n`);
    for (const file of readdirSync(options.outDir)) {
      if (file.startsWith(`${base}-`) && !file.startsWith(name) && (file.endsWith(".oci.tar") || file.endsWith(".json"))) {
        rmSync(join(options.outDir, file));
      }
    }
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Writes the layer tar of `entries` and the OCI archive around it. */
async function writeImage(archive: string, work: string, spec: ImageSpec, entries: TarEntry[], epoch: number): Promise<{ digest: string; size: number }> {
  const layerFile = join(work, "layer.tar");
  const layer = await writeTarFile(layerFile, sortEntries(withParents(entries)), { mtime: epoch });
  const written = await writeOciArchive(archive, spec, { ...layer, file: layerFile }, epoch);
  return { digest: written.digest, size: written.size };
}

function debLabel(debs: readonly Pick<DebPackage, "name" | "version">[]): string {
  return [...debs].sort((a, b) => a.name.localeCompare(b.name)).map((d) => `${d.name}=${d.version}`).join(" ");
}

export interface KeywardImageInputs {
  version: string;
  description: string;
  license: string;
  nodeVersion: string;
  debs: readonly Pick<DebPackage, "name" | "version">[];
  epoch: number;
  platform: Platform;
}

/** The keyward image's name and configuration: the Dockerfile's final stage's user, workdir, entrypoint. */
export function keywardImageSpec(inputs: KeywardImageInputs): ImageSpec {
  return {
    name: `${IMAGE_REPOSITORY}:${inputs.version}`,
    platform: inputs.platform,
    created: createdAt(inputs.epoch),
    createdBy: "hack/image.ts",
    run: {
      User: `${NONROOT.id}:${NONROOT.id}`,
      WorkingDir: "/app",
      Entrypoint: ["/nodejs/bin/node", "bin/keyward.js"],
      Cmd: ["--help"],
      Env: [PATH_ENV, "NODE_ENV=production"],
      Labels: {
        "org.opencontainers.image.title": "keyward",
        "org.opencontainers.image.description": inputs.description,
        "org.opencontainers.image.version": inputs.version,
        "org.opencontainers.image.licenses": inputs.license,
        "dev.keyward.image.node": `${inputs.nodeVersion} (npm package node-linux-${inputs.platform.architecture === "amd64" ? "x64" : "arm64"})`,
        "dev.keyward.image.debs": debLabel(inputs.debs),
        "dev.keyward.image.builder": "hack/image.ts",
      },
    },
  };
}

/** The keyward image. */
export async function buildKeyward(options: BuildOptions): Promise<BuildResult> {
  const { repo, log } = options;
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string; description: string; license: string };
  const nodeVersion = process.env.KEYWARD_NODE_VERSION ?? pinnedNodeVersion(join(repo, "hack", "dev"));
  const node = nodeDist(nodeVersion, join(repo, ".cache", "node"), log);
  const debs = fetchDebs(DEB_PACKAGES, join(options.outDir, "debs"), log);
  const target = platform();

  const inputs: Record<string, string> = {
    builder: builderDigest(repo),
    epoch: String(options.epoch),
    platform: `${target.os}/${target.architecture}`,
    node: `${node.version} ${await sha256File(node.binary)}`,
    npm: execFileSync("npm", ["--version"], { encoding: "utf8" }).trim(),
  };
  for (const deb of debs) inputs[`deb:${deb.name}`] = `${deb.version} ${await sha256File(deb.file)}`;
  for (const dir of ["src", "bin", "crds"]) inputs[dir] = treeDigest(join(repo, dir));
  for (const file of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"]) inputs[file] = sha256(readFileSync(join(repo, file)));
  const key = inputsKey(inputs);

  const spec = keywardImageSpec({ ...pkg, nodeVersion: node.version, debs, epoch: options.epoch, platform: target });

  return cachedArchive(options, `keyward-${pkg.version}`, spec.name, key, async (archive, work) => {
    const start = Date.now();
    const app = await stageApp(repo, work, log);
    log(`checking the staged app: node bin/keyward.js --help`);
    execFileSync(node.binary, ["bin/keyward.js", "--help"], { cwd: app, env: { NODE_ENV: "production" }, stdio: ["ignore", "ignore", 2] });

    const entries: TarEntry[] = [
      ...treeEntries(app, "app"),
      { type: "file", path: "nodejs/bin/node", mode: 0o755, source: { file: node.binary } },
      ...libraryEntries(node.binary, debs.map((d) => d.root)),
      ...userDatabase(),
      { type: "dir", path: "tmp", mode: 0o1777 },
    ];
    const license = join(node.dir, "LICENSE");
    if (existsSync(license)) entries.push({ type: "file", path: "nodejs/LICENSE", mode: 0o644, source: { file: license } });
    for (const deb of debs) {
      const copyright = posix.join("usr/share/doc", deb.name, "copyright");
      if (existsSync(join(deb.root, copyright))) entries.push({ type: "file", path: copyright, mode: 0o644, source: { file: join(deb.root, copyright) } });
    }
    log(`writing the layer and the OCI archive (staged in ${((Date.now() - start) / 1000).toFixed(1)}s)`);
    return writeImage(archive, work, spec, entries, options.epoch);
  });
}

/** The pause image around a static binary. */
export async function buildPause(binary: string, options: BuildOptions): Promise<BuildResult> {
  if (!existsSync(binary)) throw new Error(`${binary} does not exist: build it with \`cd hack/pause && CGO_ENABLED=0 go build -o <path> .\``);
  if (elfInterpreter(binary) !== null) throw new Error(`${binary} is dynamically linked: the pause image holds one static binary (build it with CGO_ENABLED=0)`);
  const target = platform();
  const key = inputsKey({
    builder: builderDigest(options.repo),
    epoch: String(options.epoch),
    platform: `${target.os}/${target.architecture}`,
    binary: await sha256File(binary),
  });
  const spec: ImageSpec = {
    name: PAUSE_IMAGE,
    platform: target,
    created: createdAt(options.epoch),
    createdBy: "hack/image.ts --pause",
    run: {
      User: "65535:65535",
      Entrypoint: ["/pause"],
      Env: [PATH_ENV],
      Labels: { "org.opencontainers.image.title": "pause", "dev.keyward.image.builder": "hack/image.ts --pause" },
    },
  };
  return cachedArchive(options, "pause-1", PAUSE_IMAGE, key, (archive, work) =>
    writeImage(archive, work, spec, [{ type: "file", path: "pause", mode: 0o755, source: { file: binary } }], options.epoch));
}
