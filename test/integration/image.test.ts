// The image's contents without a Docker engine: the Dockerfile's stages done by hand in a
// temporary directory. The build context (what .dockerignore lets in) is compiled with
// `npm run build`, the production dependencies alone are installed with
// `npm ci --omit=dev --ignore-scripts` into a clean directory, and the final layout (dist/,
// production node_modules/, bin/, crds/, package.json) runs the entry points: without dev
// dependencies, `keyward --help`, `keyward controller --help` and `keyward verifier --help` work,
// and every flag the manifests in config/ pass is one the command documents.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../src/controlplane/index.ts";
import type { Deployment } from "../config/support/k8s.ts";
import { kustomizeBuild, KUSTOMIZE_BUILD_TIMEOUT_MS, one } from "../config/support/kustomize.ts";
import { dockerignoreAllowlist, readDockerfile } from "../image/support/dockerfile.ts";

const run = promisify(execFile);
const STAGE_TIMEOUT_MS = 300_000;

let root = "";
let app = "";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, env, timeout: STAGE_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(error) };
  }
}

/** The environment npm runs in: `npm run --silent` (hack/dev) would otherwise silence its errors too. */
const NPM_ENV: NodeJS.ProcessEnv = { ...process.env, npm_config_loglevel: "warn" };

async function mustSucceed(command: string, args: string[], cwd: string): Promise<void> {
  const r = await sh(command, args, cwd, NPM_ENV);
  if (r.code !== 0) throw new Error(`${command} ${args.join(" ")} (in ${cwd}) exited ${r.code}:\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-3000)}`);
}

/** `node bin/<entry> …args` in the final layout, with nothing of the development environment. */
function inImage(entry: string, args: string[]): Promise<Result> {
  return sh(process.execPath, [join("bin", entry), ...args], app, { PATH: "/usr/bin:/bin", HOME: app, NODE_ENV: "production" });
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "keyward-image-"));
  // Stage "build": the build context, compiled. The dev dependencies are the checkout's own.
  const build = join(root, "build");
  mkdirSync(build);
  for (const path of dockerignoreAllowlist()) cpSync(join(REPO_ROOT, path), join(build, path), { recursive: true });
  symlinkSync(join(REPO_ROOT, "node_modules"), join(build, "node_modules"), "dir");
  await mustSucceed("npm", ["run", "build", "--silent"], build);

  // Stage "production-dependencies": package.json and the lock file alone, production dependencies
  // only. The lock is cut down to its production packages first (same versions, same integrity
  // hashes): npm ci validates the whole lock, dev packages included, and one of those is checked
  // on its own by the test "installs from package-lock.json as it is" below.
  const prod = join(root, "production-dependencies");
  mkdirSync(prod);
  writeProductionManifests(prod);
  await mustSucceed("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], prod);

  // The final stage.
  app = join(root, "app");
  mkdirSync(app);
  cpSync(join(prod, "node_modules"), join(app, "node_modules"), { recursive: true });
  cpSync(join(build, "dist"), join(app, "dist"), { recursive: true });
  for (const path of ["package.json", "bin", "crds"]) cpSync(join(REPO_ROOT, path), join(app, path), { recursive: true });
}, STAGE_TIMEOUT_MS * 2 + KUSTOMIZE_BUILD_TIMEOUT_MS);

afterAll(() => {
  if (root !== "") rmSync(root, { recursive: true, force: true });
});

interface Lock {
  packages: Record<string, { dev?: boolean; devDependencies?: Record<string, string> }>;
}

/** package.json without devDependencies and package-lock.json without the dev packages, into `dir`. */
function writeProductionManifests(dir: string): void {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { devDependencies?: unknown };
  delete pkg.devDependencies;
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as Lock;
  const packages: Lock["packages"] = {};
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === "") {
      const rootEntry = { ...entry };
      delete rootEntry.devDependencies;
      packages[path] = rootEntry;
    } else if (entry.dev !== true) {
      packages[path] = entry;
    }
  }
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2));
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ ...lock, packages }, null, 2));
}

/** The flags (`--name`, without a value) among container arguments. */
const flagsOf = (args: readonly string[]): string[] => args.filter((a) => a.startsWith("--")).map((a) => a.split("=")[0]!);

describe("the image layout, built without Docker", () => {
  it("installs from package-lock.json as it is, as the Dockerfile's npm ci does", async () => {
    const dir = join(root, "lock-as-is");
    mkdirSync(dir);
    for (const file of ["package.json", "package-lock.json"]) cpSync(join(REPO_ROOT, file), join(dir, file));
    const r = await sh("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--dry-run"], dir, NPM_ENV);
    expect(r.code, `npm ci refuses package-lock.json:\n${r.stderr.split("\n").filter((l) => !/^npm error\s*$/.test(l)).slice(0, 8).join("\n")}`).toBe(0);
  });

  it("is what the Dockerfile's final stage copies", () => {
    const final = readDockerfile().at(-1)!;
    const copied = final.copies.flatMap((c) => c.sources).map((s) => s.replace(/\/$/, "").split("/").at(-1));
    expect(copied.sort()).toEqual(["bin", "crds", "dist", "node_modules", "package.json"]);
  });

  it("holds production dependencies only", () => {
    for (const dev of ["typescript", "vitest", "eslint", "fast-check", "typescript-eslint"]) {
      expect(existsSync(join(app, "node_modules", dev)), dev).toBe(false);
    }
    for (const dep of ["jose", "@kubernetes/client-node", "pino", "prom-client", "yaml"]) {
      expect(existsSync(join(app, "node_modules", dep)), dep).toBe(true);
    }
    expect(existsSync(join(app, "dist", "cli", "main.js"))).toBe(true);
  });

  it("runs keyward --help", async () => {
    const r = await inImage("keyward.js", ["--help"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: keyward/);
    expect(r.stdout).toMatch(/^\s+verifier\s/m);
    expect(r.stdout).toMatch(/^\s+controller\s/m);
  });

  it("runs keyward verifier --help, which documents every flag the verifier sidecar of config/verifier passes", async () => {
    const r = await inImage("keyward.js", ["verifier", "--help"]);
    expect(r.code).toBe(0);
    for (const dir of ["test/e2e/echo/configmap", "test/e2e/echo/file"]) {
      const sidecar = one<Deployment>(kustomizeBuild(dir), "Deployment", "echo").spec.template.spec.containers.find((c) => c.name === "keyward-verifier");
      const flags = flagsOf(sidecar?.args ?? []);
      expect(flags.length, dir).toBeGreaterThan(3);
      for (const flag of flags) expect(r.stdout, `${dir}: ${flag}`).toContain(`${flag} `);
    }
  });

  it("runs keyward controller --help, which documents every flag the controller Deployment of config/manager passes", async () => {
    const r = await inImage("keyward.js", ["controller", "--help"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const container = one<Deployment>(kustomizeBuild("config/default"), "Deployment", "keyward-controller").spec.template.spec.containers[0]!;
    const flags = flagsOf(container.args ?? []);
    expect(flags).toContain("--leader-elect");
    for (const flag of flags) expect(r.stdout, flag).toMatch(new RegExp(`${flag}\\b`));
  });

  it("runs the kubectl plugin, kubectl-keyward --help", async () => {
    const r = await inImage("kubectl-keyward.js", ["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: kubectl keyward/);
  });
});
