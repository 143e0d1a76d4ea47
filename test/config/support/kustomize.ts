// Renders kustomizations with a real kustomize (built and cached by hack/kustomize.sh), so the
// tests see exactly what `kubectl apply -k` applies.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { REPO_ROOT } from "../../../src/controlplane/index.ts";

export { REPO_ROOT };

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** How long building kustomize may take on a cold cache (a Go build of ~25 s on 2 cores). */
export const KUSTOMIZE_BUILD_TIMEOUT_MS = 600_000;

let binary: string | undefined;

/** The kustomize binary: $KEYWARD_KUSTOMIZE, or the cached build, built on first use. */
export function kustomizeBinary(): string {
  if (binary !== undefined) return binary;
  const out = execFileSync("bash", [join(REPO_ROOT, "hack", "kustomize.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: KUSTOMIZE_BUILD_TIMEOUT_MS,
  });
  const path = out.trim().split("\n").pop();
  if (path === undefined || path === "" || !existsSync(path)) {
    throw new Error(`hack/kustomize.sh did not print the path of a kustomize binary (it printed ${JSON.stringify(out)})`);
  }
  binary = path;
  return path;
}

/** `kustomize build <dir>` (a path relative to the repository, or absolute), parsed. */
export function kustomizeBuild(dir: string): Manifest[] {
  const abs = dir.startsWith("/") ? dir : join(REPO_ROOT, dir);
  let out: string;
  try {
    out = execFileSync(kustomizeBinary(), ["build", abs], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new Error(`kustomize build ${dir} failed: ${typeof stderr === "string" ? stderr.trim() : String(error)}`, { cause: error });
  }
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

export interface KustomizationFile {
  /** Directory, relative to the repository. */
  dir: string;
  kind: "Kustomization" | "Component";
}

/** Every kustomization.yaml (or Kustomization) below `root` (relative to the repository). */
export function findKustomizations(root: string): KustomizationFile[] {
  const found: KustomizationFile[] = [];
  const walk = (abs: string): void => {
    for (const entry of readdirSync(abs).sort()) {
      const path = join(abs, entry);
      if (statSync(path).isDirectory()) {
        walk(path);
      } else if (entry === "kustomization.yaml" || entry === "kustomization.yml" || entry === "Kustomization") {
        const doc = parse(readFileSync(path, "utf8")) as { kind?: string } | null;
        found.push({ dir: relative(REPO_ROOT, abs), kind: doc?.kind === "Component" ? "Component" : "Kustomization" });
      }
    }
  };
  walk(join(REPO_ROOT, root));
  return found;
}

/** The one object of `kind` named `name` (typed by the caller); throws naming what was there instead. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape of the kind it asks for
export function one<T extends Manifest = Manifest>(manifests: readonly Manifest[], kind: string, name: string): T {
  const matches = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  if (matches.length !== 1) {
    const have = manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(", ");
    throw new Error(`expected exactly one ${kind}/${name}, found ${matches.length} among: ${have}`);
  }
  return matches[0] as T;
}

/** The version in package.json, which the image tag and the version label must match. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
}
