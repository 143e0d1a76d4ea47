// hack/image/tar.ts: a layer's bytes depend only on what goes in — never on the build machine's
// owners, timestamps or umask — and every entry is root's, with one fixed mtime.
import { chmodSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkPath, sortEntries, tarBytes, writeTarFile, type TarEntry } from "../../hack/image/tar.ts";
import { sha256 } from "../../hack/image/digest.ts";
import { readTar } from "./support/tar.ts";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keyward-tar-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const entriesFor = (file: string): TarEntry[] => [
  { type: "dir", path: "app", mode: 0o755 },
  { type: "file", path: "app/main.js", mode: 0o644, source: { file } },
  { type: "file", path: "app/inline.txt", mode: 0o600, source: { data: Buffer.from("inline\n") } },
  { type: "symlink", path: "app/link", target: "main.js" },
];

describe("the tar writer", () => {
  it("writes the same bytes for the same entries, whatever the source file's mtime and permissions", async () => {
    const file = join(dir, "main.js");
    writeFileSync(file, "console.log(1);\n");
    utimesSync(file, 1_000_000, 1_000_000);
    chmodSync(file, 0o600);
    const first = await tarBytes(entriesFor(file), { mtime: 0 });
    utimesSync(file, 2_000_000_000, 2_000_000_000);
    chmodSync(file, 0o666);
    const second = await tarBytes(entriesFor(file), { mtime: 0 });
    expect(sha256(second)).toBe(sha256(first));
    writeFileSync(file, "console.log(2);\n");
    expect(sha256(await tarBytes(entriesFor(file), { mtime: 0 }))).not.toBe(sha256(first));
  });

  it("makes every entry owned by 0:0 with no user or group name, with the given mtime and mode", async () => {
    const file = join(dir, "main.js");
    writeFileSync(file, "x");
    const entries = readTar(await tarBytes(entriesFor(file), { mtime: 1_700_000_000 }));
    expect(entries.map((e) => [e.name, e.typeflag, e.mode.toString(8), e.linkname])).toEqual([
      ["app/", "5", "755", ""],
      ["app/main.js", "0", "644", ""],
      ["app/inline.txt", "0", "600", ""],
      ["app/link", "2", "777", "main.js"],
    ]);
    for (const e of entries) {
      expect({ uid: e.uid, gid: e.gid, uname: e.uname, gname: e.gname, mtime: e.mtime }).toEqual({ uid: 0, gid: 0, uname: "", gname: "", mtime: 1_700_000_000 });
    }
    expect(entries[2]!.data.toString()).toBe("inline\n");
  });

  it("keeps a name longer than 100 bytes whole in a PAX header that holds only path and linkpath", async () => {
    const long = `app/${"d".repeat(80)}/${"f".repeat(60)}.js`;
    const target = `../${"t".repeat(120)}`;
    const entries = readTar(await tarBytes([
      { type: "file", path: long, mode: 0o644, source: { data: Buffer.from("long") } },
      { type: "symlink", path: `${long}.link`, target },
    ], { mtime: 0 }));
    expect(entries.map((e) => e.name)).toEqual([long, `${long}.link`]);
    expect(entries[0]!.pax).toEqual({ path: long });
    expect(entries[1]!.pax).toEqual({ path: `${long}.link`, linkpath: target });
    expect(entries[1]!.linkname).toBe(target);
  });

  it("writes a file the same as in memory and reports its sha256 and size", async () => {
    const file = join(dir, "main.js");
    writeFileSync(file, "a".repeat(70_000));
    const out = join(dir, "layer.tar");
    const written = await writeTarFile(out, entriesFor(file), { mtime: 0 });
    const bytes = readFileSync(out);
    expect(written).toEqual({ digest: sha256(bytes), size: bytes.length });
    expect(bytes.equals(await tarBytes(entriesFor(file), { mtime: 0 }))).toBe(true);
    expect(bytes.length % 512).toBe(0);
  });

  it("refuses absolute paths and . or .. segments", () => {
    for (const bad of ["/etc/passwd", "./app", "app/../etc", "app//x", ""]) expect(() => { checkPath(bad); }).toThrow(/invalid entry path/);
    expect(() => { checkPath("app/x"); }).not.toThrow();
  });
});

describe("sortEntries", () => {
  it("orders by path bytes, each directory before what it holds, whatever the input order", () => {
    const entries: TarEntry[] = [
      { type: "file", path: "a/b", mode: 0o644, source: { data: Buffer.alloc(0) } },
      { type: "file", path: "a-c", mode: 0o644, source: { data: Buffer.alloc(0) } },
      { type: "dir", path: "a", mode: 0o755 },
      { type: "file", path: "B", mode: 0o644, source: { data: Buffer.alloc(0) } },
    ];
    const order = sortEntries(entries).map((e) => e.path);
    expect(order).toEqual(["B", "a-c", "a", "a/b"]);
    expect(sortEntries([...entries].reverse()).map((e) => e.path)).toEqual(order);
  });
});
