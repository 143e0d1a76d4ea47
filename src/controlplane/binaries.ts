import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";

/** The executables a control plane runs. */
export const REQUIRED_BINARIES = ["etcd", "kube-apiserver", "kube-controller-manager"] as const;

/** Throws an error naming the variable and the missing executables unless `dir` holds all three. */
export function checkAssetsDir(dir: string, source: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // handled below
  }
  if (!isDir) throw new Error(`${source}: ${dir} is not a directory; it must hold ${REQUIRED_BINARIES.join(", ")}`);
  const missing = REQUIRED_BINARIES.filter((bin) => {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    throw new Error(`${source}: ${dir} lacks the executable(s) ${missing.join(", ")}; it must hold ${REQUIRED_BINARIES.join(", ")}`);
  }
}
