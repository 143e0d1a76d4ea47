// Debian packages as build inputs: the candidate version apt would install, fetched with
// `apt-get download` into a cache and unpacked with `dpkg-deb -x` (no installation, no
// maintainer scripts). A package is named by name, version and architecture, so the same names
// and versions give the same files.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface DebPackage {
  name: string;
  version: string;
  architecture: string;
  /** The .deb file in the cache. */
  file: string;
  /** Where it is unpacked. */
  root: string;
}

function run(command: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === "ENOENT") {
      throw new Error(`${command} is not installed: building the image needs apt-get, apt-cache and dpkg-deb (a Debian or Ubuntu machine)`, { cause: error });
    }
    throw new Error(`${command} ${args.join(" ")} failed: ${(e.stderr ?? e.message).trim()}`, { cause: error });
  }
}

/** The versions apt would install now, from `apt-cache policy` output, by package name. */
export function parseCandidates(policy: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | null = null;
  for (const line of policy.split("\n")) {
    const name = /^(\S+):$/.exec(line);
    if (name) {
      current = name[1]!;
      continue;
    }
    const candidate = /^\s+Candidate:\s+(\S+)/.exec(line);
    if (candidate && current !== null && candidate[1] !== "(none)") out.set(current, candidate[1]!);
  }
  return out;
}

/** The candidate version of each package; names one apt does not know with what to run. */
export function candidateVersions(names: readonly string[]): Map<string, string> {
  const versions = parseCandidates(run("apt-cache", ["policy", ...names]));
  const missing = names.filter((n) => !versions.has(n));
  if (missing.length > 0) {
    throw new Error(`apt knows no installable version of ${missing.join(", ")}: run \`apt-get update\` (as root) and try again`);
  }
  return versions;
}

/** The machine's Debian architecture (amd64, arm64). */
export function debianArchitecture(): string {
  return run("dpkg", ["--print-architecture"]).trim();
}

/**
 * Fetches and unpacks each package at its candidate version into `cacheDir`, reusing what is
 * already there.
 */
export function fetchDebs(names: readonly string[], cacheDir: string, log: (line: string) => void): DebPackage[] {
  mkdirSync(cacheDir, { recursive: true });
  const versions = candidateVersions(names);
  const architecture = debianArchitecture();
  return names.map((name) => {
    const version = versions.get(name)!;
    const base = `${name}_${version.replaceAll(":", "%3a")}_${architecture}`;
    const file = join(cacheDir, `${base}.deb`);
    const root = join(cacheDir, base);
    if (!existsSync(file)) {
      log(`apt-get download ${name}=${version}`);
      const tmp = mkdtempSync(join(cacheDir, ".download-"));
      try {
        run("apt-get", ["download", "-q", `${name}=${version}`], tmp);
        const debs = readdirSync(tmp).filter((f) => f.endsWith(".deb"));
        if (debs.length !== 1) throw new Error(`apt-get download ${name}=${version} left ${debs.length} .deb files`);
        renameSync(join(tmp, debs[0]!), file);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    }
    const [pkg, ver, arch] = run("dpkg-deb", ["-f", file, "Package", "Version", "Architecture"]).trim().split("\n").map((l) => l.replace(/^\S+:\s*/, ""));
    if (pkg !== name || ver !== version || (arch !== architecture && arch !== "all")) {
      throw new Error(`${file} holds ${pkg ?? "?"} ${ver ?? "?"} ${arch ?? "?"}, not ${name} ${version} ${architecture}: delete it and run again`);
    }
    if (!existsSync(root)) {
      const tmp = mkdtempSync(join(cacheDir, ".unpack-"));
      try {
        run("dpkg-deb", ["-x", file, tmp]);
        renameSync(tmp, root);
      } catch (error) {
        rmSync(tmp, { recursive: true, force: true });
        throw error;
      }
    }
    return { name, version, architecture, file, root };
  });
}
