// The layer's file tree (hack/image/rootfs.ts, libraries.ts, debs.ts, inputs.ts, node.ts): modes
// normalized so nothing is writable but by root, parent directories present, the user database,
// the loader and libraries read from the packages, and the inputs key that decides a rebuild.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCandidates } from "../../hack/image/debs.ts";
import { inputsKey, treeDigest } from "../../hack/image/inputs.ts";
import { elfInterpreter, parseLdList } from "../../hack/image/libraries.ts";
import { pinnedNodeVersion } from "../../hack/image/node.ts";
import { NONROOT, treeEntries, userDatabase, withParents } from "../../hack/image/rootfs.ts";
import type { TarEntry } from "../../hack/image/tar.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keyward-rootfs-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const summary = (entries: TarEntry[]): string[][] =>
  entries.map((e) => [e.path, e.type, e.type === "symlink" ? e.target : e.mode.toString(8)]);

describe("treeEntries", () => {
  it("reads a directory in name order, keeps execute bits and symbolic links, and drops every write bit but the owner's", () => {
    mkdirSync(join(dir, "bin"));
    writeFileSync(join(dir, "bin", "run.js"), "");
    chmodSync(join(dir, "bin", "run.js"), 0o777);
    writeFileSync(join(dir, "b.json"), "");
    chmodSync(join(dir, "b.json"), 0o666);
    writeFileSync(join(dir, "a.txt"), "");
    chmodSync(join(dir, "a.txt"), 0o400);
    symlinkSync("bin/run.js", join(dir, "link"));
    expect(summary(treeEntries(dir, "app"))).toEqual([
      ["app", "dir", "755"],
      ["app/a.txt", "file", "644"],
      ["app/b.json", "file", "644"],
      ["app/bin", "dir", "755"],
      ["app/bin/run.js", "file", "755"],
      ["app/link", "symlink", "bin/run.js"],
    ]);
  });
});

describe("withParents", () => {
  it("adds every missing parent directory once, and refuses two entries at one path", () => {
    const file = (path: string): TarEntry => ({ type: "file", path, mode: 0o644, source: { data: Buffer.alloc(0) } });
    const out = withParents([file("usr/share/doc/a"), file("usr/share/doc/b"), { type: "dir", path: "usr", mode: 0o700 }]);
    expect(summary(out).slice(3)).toEqual([["usr/share/doc", "dir", "755"], ["usr/share", "dir", "755"]]);
    expect(() => withParents([file("a"), file("a")])).toThrow(/two entries for a/);
    expect(() => withParents([file("a"), file("a/b")])).toThrow(/not a directory/);
  });
});

describe("userDatabase", () => {
  it("holds root and nonroot with uid and gid 65532, no shell and no home", () => {
    const [passwd, group] = userDatabase().map((e) => (e.type === "file" && "data" in e.source ? Buffer.from(e.source.data).toString() : ""));
    expect(NONROOT.id).toBe(65532);
    expect(passwd!.split("\n")).toContain("nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin");
    expect(passwd!.startsWith("root:x:0:0:")).toBe(true);
    expect(group!.split("\n")).toEqual(["root:x:0:", "nonroot:x:65532:", ""]);
  });
});

describe("the libraries from Debian packages", () => {
  it("reads the interpreter of a dynamic ELF file and none of a static one", () => {
    const elf = (interp: string | null): string => {
      const phnum = interp === null ? 0 : 1;
      const buf = Buffer.alloc(64 + 56 * phnum + 64);
      buf.writeUInt32BE(0x7f454c46, 0);
      buf[4] = 2;
      buf[5] = 1;
      buf.writeBigUInt64LE(64n, 0x20);
      buf.writeUInt16LE(56, 0x36);
      buf.writeUInt16LE(phnum, 0x38);
      if (interp !== null) {
        buf.writeUInt32LE(3, 64);
        buf.writeBigUInt64LE(120n, 64 + 8);
        buf.writeBigUInt64LE(BigInt(interp.length + 1), 64 + 32);
        buf.write(interp, 120, "latin1");
      }
      const file = join(dir, interp === null ? "static" : "dynamic");
      writeFileSync(file, buf);
      return file;
    };
    expect(elfInterpreter(elf("/lib64/ld-linux-x86-64.so.2"))).toBe("/lib64/ld-linux-x86-64.so.2");
    expect(elfInterpreter(elf(null))).toBeNull();
    writeFileSync(join(dir, "script"), "#!/bin/sh\n".padEnd(64, " "));
    expect(() => elfInterpreter(join(dir, "script"))).toThrow(/not an ELF file/);
  });

  it("reads the loader's --list output and names a library no package holds", () => {
    const listing = [
      "\tlinux-vdso.so.1 (0x00007ffd)",
      "\tlibstdc++.so.6 => /cache/libstdc++6/usr/lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f4b1c200000)",
      "\t/lib64/ld-linux-x86-64.so.2 => /cache/libc6/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 (0x00007f4b)",
    ].join("\n");
    expect(parseLdList(listing)).toEqual([
      { name: "libstdc++.so.6", path: "/cache/libstdc++6/usr/lib/x86_64-linux-gnu/libstdc++.so.6" },
      { name: "/lib64/ld-linux-x86-64.so.2", path: "/cache/libc6/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
    ]);
    expect(() => parseLdList("\tlibz.so.1 => not found\n")).toThrow(/no package holds libz.so.1/);
  });

  it("takes each package's candidate version from apt-cache policy and skips packages without one", () => {
    const policy = [
      "libc6:",
      "  Installed: 2.36-9+deb12u14",
      "  Candidate: 2.36-9+deb12u14",
      "  Version table:",
      " *** 2.36-9+deb12u14 500",
      "libgcc-s1:",
      "  Installed: (none)",
      "  Candidate: 1:12.2.0-14",
      "nothing:",
      "  Installed: (none)",
      "  Candidate: (none)",
    ].join("\n");
    expect([...parseCandidates(policy)]).toEqual([["libc6", "2.36-9+deb12u14"], ["libgcc-s1", "1:12.2.0-14"]]);
  });
});

describe("the inputs key", () => {
  it("changes with a file's contents or execute bit, not with its mtime", () => {
    writeFileSync(join(dir, "a.ts"), "1");
    const before = treeDigest(dir);
    utimesSync(join(dir, "a.ts"), 5, 5);
    expect(treeDigest(dir)).toBe(before);
    chmodSync(join(dir, "a.ts"), 0o755);
    const executable = treeDigest(dir);
    expect(executable).not.toBe(before);
    writeFileSync(join(dir, "a.ts"), "2");
    expect(treeDigest(dir)).not.toBe(executable);
  });

  it("does not depend on the order inputs are listed in", () => {
    expect(inputsKey({ a: "1", b: "2" })).toBe(inputsKey({ b: "2", a: "1" }));
    expect(inputsKey({ a: "1", b: "2" })).not.toBe(inputsKey({ a: "1", b: "3" }));
  });

  it("uses the Node.js version hack/dev pins", () => {
    expect(pinnedNodeVersion(fileURLToPath(new URL("../../hack/dev", import.meta.url)))).toMatch(/^24\.\d+\.\d+$/);
    writeFileSync(join(dir, "dev"), "NODE_VERSION=24\n");
    expect(() => pinnedNodeVersion(join(dir, "dev"))).toThrow(/no NODE_VERSION=/);
  });
});
