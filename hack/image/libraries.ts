// The shared libraries a dynamically linked program needs, taken from unpacked Debian packages
// rather than from the build machine: the program's interpreter (PT_INTERP, the dynamic loader)
// is found in the packages and run with `--list` on the packages' library directories alone,
// which is what `ldd` does. Every library it resolves, and the loader, must come from a package;
// each becomes tar entries at the path the package puts it, symbolic links and their targets.
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, openSync, readSync, closeSync, readlinkSync, readdirSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import type { TarEntry } from "./tar.ts";
import { fileMode } from "./rootfs.ts";

/** The PT_INTERP path of a 64-bit little-endian ELF file, or null for a static one. */
export function elfInterpreter(file: string): string | null {
  const fd = openSync(file, "r");
  try {
    const read = (offset: number, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, offset);
      if (n !== length) throw new Error(`${file}: truncated ELF file`);
      return buf;
    };
    const ident = read(0, 64);
    if (ident.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
    if (ident[4] !== 2 || ident[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF file`);
    const phoff = Number(ident.readBigUInt64LE(0x20));
    const phentsize = ident.readUInt16LE(0x36);
    const phnum = ident.readUInt16LE(0x38);
    for (let i = 0; i < phnum; i++) {
      const ph = read(phoff + i * phentsize, 56);
      if (ph.readUInt32LE(0) !== 3) continue; // PT_INTERP
      const offset = Number(ph.readBigUInt64LE(8));
      const size = Number(ph.readBigUInt64LE(32));
      return read(offset, size).toString("latin1").replace(/\0+$/, "");
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Lines of `ld.so --list` output: "name => /path (0x…)" and "/interp => /path (0x…)". */
export function parseLdList(output: string): { name: string; path: string }[] {
  const out: { name: string; path: string }[] = [];
  for (const line of output.split("\n")) {
    const resolved = /^\s*(\S+) => (\/\S*) \(0x[0-9a-f]+\)$/.exec(line);
    if (resolved) {
      out.push({ name: resolved[1]!, path: resolved[2]! });
      continue;
    }
    const missing = /^\s*(\S+) => not found$/.exec(line);
    if (missing) throw new Error(`no package holds ${missing[1]!}, which the program needs`);
  }
  return out;
}

/** The package root holding image path `imagePath` (relative), the first found. */
function holder(roots: readonly string[], imagePath: string): string | null {
  for (const root of roots) {
    try {
      lstatSync(join(root, imagePath));
      return root;
    } catch {
      // not in this package
    }
  }
  return null;
}

/** Directories of the packages a loader searches: lib/, usr/lib/ and their <triplet>/ dirs. */
export function libraryDirs(roots: readonly string[]): string[] {
  const dirs: string[] = [];
  for (const root of roots) {
    for (const base of ["lib", "usr/lib"]) {
      const dir = join(root, base);
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir).sort()) {
        if (/-linux-gnu[a-z]*$/.test(name)) dirs.push(join(dir, name));
      }
      dirs.push(dir);
    }
  }
  return dirs;
}

/**
 * Tar entries for image path `imagePath` taken from the packages, following symbolic links
 * (absolute ones from the image root) until a regular file. Adds to `out`, keyed by path;
 * returns the regular file's path on the build machine.
 */
function collect(roots: readonly string[], imagePath: string, out: Map<string, TarEntry>, seen = 0): string {
  if (seen > 16) throw new Error(`too many symbolic links resolving ${imagePath} in the packages`);
  const root = holder(roots, imagePath);
  if (root === null) throw new Error(`no package holds /${imagePath}`);
  const host = join(root, imagePath);
  const st = lstatSync(host);
  if (st.isSymbolicLink()) {
    const target = readlinkSync(host);
    out.set(imagePath, { type: "symlink", path: imagePath, target });
    const next = target.startsWith("/") ? posix.normalize(target.slice(1)) : posix.normalize(posix.join(posix.dirname(imagePath), target));
    return collect(roots, next, out, seen + 1);
  } else if (st.isFile()) {
    out.set(imagePath, { type: "file", path: imagePath, mode: fileMode(st.mode), source: { file: host } });
    return host;
  } else {
    throw new Error(`/${imagePath} in ${root} is not a file`);
  }
}

/**
 * The loader and every shared library `program` needs, from the unpacked packages `roots`,
 * as entries at the paths the packages give them.
 */
export function libraryEntries(program: string, roots: readonly string[]): TarEntry[] {
  const interpreter = elfInterpreter(program);
  if (interpreter === null) return [];
  const out = new Map<string, TarEntry>();
  const interpPath = posix.normalize(interpreter.replace(/^\/+/, ""));
  const loader = collect(roots, interpPath, out);
  const listing = execFileSync(loader, ["--inhibit-cache", "--library-path", libraryDirs(roots).join(":"), "--list", program], { encoding: "utf8" });
  for (const { name, path } of parseLdList(listing)) {
    const root = roots.find((r) => path.startsWith(r + sep));
    if (root === undefined) throw new Error(`${name} resolved to ${path}, outside the packages (${roots.join(", ")}): a package is missing`);
    if (name === interpreter) continue;
    collect(roots, relative(root, path).split(sep).join("/"), out);
  }
  return [...out.values()];
}
