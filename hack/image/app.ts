// /app of the image, staged on disk as the Dockerfile's stages make it: the sources compiled with
// `tsc -p tsconfig.build.json` in a copy of the build context (so dist/ holds exactly what src/
// compiles to, and source maps point at ../src as in the Dockerfile's build), the production
// dependencies alone installed with `npm ci --omit=dev --ignore-scripts` from package.json and
// package-lock.json in a clean directory, then package.json, bin/ and crds/ beside them (package-lock.json is
// not kept, as in the Dockerfile's final stage).
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";

/** Runs a command, its output on stderr; rejects with the command line when it fails. */
export function runStep(command: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", 2, 2] });
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(new Error(error.code === "ENOENT" ? `${command} is not on PATH (run through hack/dev)` : `${command}: ${error.message}`));
    });
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} (in ${cwd}) failed: ${signal ?? `exit ${code}`}`));
    });
  });
}

/** The build context the compiler needs, and what is copied into /app as it is. */
const BUILD_CONTEXT = ["src", "tsconfig.json", "tsconfig.build.json", "package.json"];
const COPIED = ["bin", "crds"];

/**
 * Stages /app under `work` (returns work/app). Needs the repository's node_modules (the
 * compiler and the type packages) and npm.
 */
export async function stageApp(repo: string, work: string, log: (line: string) => void): Promise<string> {
  const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) throw new Error(`${tsc} is missing: install the dependencies first (hack/dev runs npm ci)`);
  const build = join(work, "build");
  const app = join(work, "app");
  mkdirSync(build, { recursive: true });
  mkdirSync(app, { recursive: true });
  for (const name of BUILD_CONTEXT) cpSync(join(repo, name), join(build, name), { recursive: true });
  symlinkSync(join(repo, "node_modules"), join(build, "node_modules"));
  for (const name of ["package.json", "package-lock.json"]) cpSync(join(repo, name), join(app, name));

  log("compiling src/ (tsc -p tsconfig.build.json) and installing production dependencies (npm ci --omit=dev)");
  await Promise.all([
    runStep(process.execPath, [tsc, "-p", "tsconfig.build.json"], build),
    runStep("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], app),
  ]);
  rmSync(join(app, "package-lock.json"));
  renameSync(join(build, "dist"), join(app, "dist"));
  for (const name of COPIED) cpSync(join(repo, name), join(app, name), { recursive: true });
  return app;
}
