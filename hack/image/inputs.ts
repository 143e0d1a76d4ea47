// What an image is built from, reduced to one key: the builder's own code, the sources, and the
// digests of the binaries and packages that go in. The same key means the same image, so an
// archive built under a key is reused as long as the key does not change.
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { canonicalJson, sha256 } from "./digest.ts";

/**
 * One digest of a directory tree: every path (sorted), its kind, whether it is executable, and
 * its contents (a symbolic link's target). Timestamps and owners do not count.
 */
export function treeDigest(dir: string): string {
  const hash = createHash("sha256");
  const walk = (host: string, rel: string): void => {
    const st = lstatSync(host);
    if (st.isSymbolicLink()) {
      hash.update(`L ${rel} ${readlinkSync(host)}\n`);
    } else if (st.isDirectory()) {
      hash.update(`D ${rel}\n`);
      for (const name of readdirSync(host).sort()) walk(join(host, name), rel === "" ? name : posix.join(rel, name));
    } else {
      hash.update(`F ${rel} ${(st.mode & 0o111) !== 0 ? "x" : "-"} ${sha256(readFileSync(host))}\n`);
    }
  };
  walk(dir, "");
  return `sha256:${hash.digest("hex")}`;
}

/** The key of a set of named inputs: the digest of their canonical JSON. */
export function inputsKey(inputs: Record<string, string>): string {
  return sha256(canonicalJson(inputs));
}
