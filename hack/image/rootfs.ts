// The file tree of an image layer, as tar entries: directories of the build machine read into
// entries with normalized modes (what is executable stays executable, nothing is writable but by
// its owner, root), the parent directories every entry needs, and the user database files.
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join, posix } from "node:path";
import type { TarEntry } from "./tar.ts";

/** The unprivileged user and group the image runs as. */
export const NONROOT = { name: "nonroot", id: 65532 } as const;

/** Mode of a file in the image: 0755 if the source has any execute bit, else 0644. */
export function fileMode(sourceMode: number): number {
  return (sourceMode & 0o111) !== 0 ? 0o755 : 0o644;
}

/**
 * The entries of the directory `hostDir` placed at `imagePath` (relative, e.g. "app/dist"), the
 * directory itself included. Regular files, directories and symbolic links only; anything else
 * (a socket, a device) is refused.
 */
export function treeEntries(hostDir: string, imagePath: string): TarEntry[] {
  const entries: TarEntry[] = [];
  const walk = (host: string, image: string): void => {
    const st = lstatSync(host);
    if (st.isSymbolicLink()) {
      entries.push({ type: "symlink", path: image, target: readlinkSync(host) });
    } else if (st.isDirectory()) {
      entries.push({ type: "dir", path: image, mode: 0o755 });
      for (const name of readdirSync(host).sort()) walk(join(host, name), posix.join(image, name));
    } else if (st.isFile()) {
      entries.push({ type: "file", path: image, mode: fileMode(st.mode), source: { file: host } });
    } else {
      throw new Error(`${host} is neither a file, a directory nor a symbolic link: it cannot go into the image`);
    }
  };
  walk(hostDir, imagePath);
  return entries;
}

/**
 * Adds a directory entry (0755) for every parent directory no entry names, and refuses two
 * entries at one path or an entry below something that is not a directory.
 */
export function withParents(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const entry of entries) {
    if (byPath.has(entry.path)) throw new Error(`two entries for ${entry.path} in one layer`);
    byPath.set(entry.path, entry);
  }
  const out = [...entries];
  for (const entry of entries) {
    for (let dir = posix.dirname(entry.path); dir !== "."; dir = posix.dirname(dir)) {
      const existing = byPath.get(dir);
      if (existing) {
        if (existing.type !== "dir") throw new Error(`${entry.path} is below ${dir}, which is not a directory in the layer`);
        continue;
      }
      const parent: TarEntry = { type: "dir", path: dir, mode: 0o755 };
      byPath.set(dir, parent);
      out.push(parent);
    }
  }
  return out;
}

/** /etc/passwd and /etc/group: root, and nonroot (65532) without a home or a shell. */
export function userDatabase(): TarEntry[] {
  const { name, id } = NONROOT;
  const passwd = `root:x:0:0:root:/root:/sbin/nologin\n${name}:x:${id}:${id}:${name}:/nonexistent:/sbin/nologin\n`;
  const group = `root:x:0:\n${name}:x:${id}:\n`;
  return [
    { type: "file", path: "etc/passwd", mode: 0o644, source: { data: Buffer.from(passwd) } },
    { type: "file", path: "etc/group", mode: 0o644, source: { data: Buffer.from(group) } },
  ];
}
