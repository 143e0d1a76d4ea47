// The Node.js binary of the image: the official build published on the npm registry as
// node-<os>-<arch>, at the version hack/dev pins, installed the way hack/dev installs it (into
// .cache/node/<package>-<version>/) and reused from there.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The Node.js version hack/dev pins (its NODE_VERSION default). */
export function pinnedNodeVersion(hackDev: string): string {
  const match = /^NODE_VERSION="\$\{KEYWARD_NODE_VERSION:-(\d+\.\d+\.\d+)\}"$/m.exec(readFileSync(hackDev, "utf8"));
  if (!match) throw new Error(`${hackDev} has no NODE_VERSION="\${KEYWARD_NODE_VERSION:-<version>}" line to read the Node.js version from`);
  return match[1]!;
}

/** The npm package of the official Node.js binary for this machine's CPU (linux only). */
export function nodePackage(arch: string = process.arch): string {
  if (arch !== "x64" && arch !== "arm64") throw new Error(`no Node.js package for CPU ${arch}: the image is built for x64 or arm64`);
  return `node-linux-${arch}`;
}

export interface NodeDist {
  version: string;
  /** The package directory: bin/node, LICENSE. */
  dir: string;
  binary: string;
}

/** The Node.js binary at `version`, installed from the npm registry into `cacheDir` if absent. */
export function nodeDist(version: string, cacheDir: string, log: (line: string) => void): NodeDist {
  const pkg = nodePackage();
  const prefix = join(cacheDir, `${pkg}-${version}`);
  const dir = join(prefix, "node_modules", pkg);
  const binary = join(dir, "bin", "node");
  if (!existsSync(binary)) {
    log(`installing Node.js ${version} (${pkg}) into ${prefix}`);
    mkdirSync(prefix, { recursive: true });
    try {
      execFileSync("npm", ["install", "--silent", "--no-save", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", prefix, `${pkg}@${version}`], { stdio: ["ignore", 2, 2] });
    } catch (error) {
      throw new Error(`npm install ${pkg}@${version} failed (${(error as Error).message}): the image needs the npm registry or an existing ${binary}`, { cause: error });
    }
  }
  const reported = execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
  if (reported !== `v${version}`) throw new Error(`${binary} reports ${reported}, not v${version}: remove ${prefix} and run again`);
  return { version, dir, binary };
}
