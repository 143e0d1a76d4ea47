// A deterministic tar writer: the bytes depend only on the entries given, never on the machine,
// the clock or the user running it. Every entry is owned by 0:0 with no user or group name, has
// one fixed mtime, and carries exactly the mode given. Names longer than the ustar fields hold go
// into a PAX extended header holding `path` / `linkpath` only (no atime, ctime or other record
// that would vary). Entries are written in the order given: callers sort them (sortEntries).
import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { once } from "node:events";
import { Writable } from "node:stream";

const BLOCK = 512;

/** What to put at one path of the archive. Paths are relative, without a leading "/" or "./". */
export type TarEntry =
  | { type: "dir"; path: string; mode: number }
  | { type: "file"; path: string; mode: number; source: { file: string } | { data: Uint8Array } }
  | { type: "symlink"; path: string; target: string };

export interface TarOptions {
  /** The mtime of every entry, in seconds since the epoch. */
  mtime: number;
}

export interface WrittenBlob {
  /** "sha256:<hex>" of the bytes written. */
  digest: string;
  size: number;
}

/** Sorts entries by path, byte-wise (a directory's own entry before what it holds). */
export function sortEntries(entries: readonly TarEntry[]): TarEntry[] {
  const key = (e: TarEntry): string => (e.type === "dir" ? `${e.path}/` : e.path);
  return [...entries].sort((a, b) => Buffer.compare(Buffer.from(key(a)), Buffer.from(key(b))));
}

/** Checks a relative archive path: no leading "/", no "." or ".." segment, no empty segment. */
export function checkPath(path: string): void {
  const segments = path.split("/");
  if (path === "" || segments.some((s) => s === "" || s === "." || s === "..")) {
    throw new Error(`tar: invalid entry path ${JSON.stringify(path)} (relative, no "." or ".." or empty segment)`);
  }
}

function octal(value: number, width: number): string {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar: ${value} does not fit an octal field of ${width} bytes`);
  return digits.padStart(width - 1, "0");
}

function put(header: Buffer, offset: number, width: number, value: string | Buffer): void {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  if (bytes.length > width) throw new Error(`tar: field value too long for ${width} bytes`);
  bytes.copy(header, offset);
}

interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  typeflag: string;
  linkname: string;
  mtime: number;
}

function ustarHeader(f: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK);
  put(h, 0, 100, f.name);
  put(h, 100, 8, octal(f.mode, 8));
  put(h, 108, 8, octal(0, 8));
  put(h, 116, 8, octal(0, 8));
  put(h, 124, 12, octal(f.size, 12));
  put(h, 136, 12, octal(f.mtime, 12));
  put(h, 148, 8, "        ");
  put(h, 156, 1, f.typeflag);
  put(h, 157, 100, f.linkname);
  put(h, 257, 6, "ustar\0");
  put(h, 263, 2, "00");
  put(h, 329, 8, octal(0, 8));
  put(h, 337, 8, octal(0, 8));
  let sum = 0;
  for (const byte of h) sum += byte;
  put(h, 148, 8, `${octal(sum, 7)}\0 `);
  return h;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return Buffer.from(`${length}${body}`, "utf8");
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The header block(s) of one entry: a PAX header first when a name does not fit ustar. */
export function entryHeader(entry: TarEntry, size: number, options: TarOptions): Buffer {
  checkPath(entry.path);
  const name = entry.type === "dir" ? `${entry.path}/` : entry.path;
  const linkname = entry.type === "symlink" ? entry.target : "";
  const records: Buffer[] = [];
  if (Buffer.byteLength(name) > 100) records.push(paxRecord("path", name));
  if (Buffer.byteLength(linkname) > 100) records.push(paxRecord("linkpath", linkname));
  const fields: HeaderFields = {
    name: Buffer.byteLength(name) > 100 ? truncate(name) : name,
    mode: entry.type === "symlink" ? 0o777 : entry.mode,
    size: entry.type === "file" ? size : 0,
    typeflag: entry.type === "dir" ? "5" : entry.type === "symlink" ? "2" : "0",
    linkname: Buffer.byteLength(linkname) > 100 ? truncate(linkname) : linkname,
    mtime: options.mtime,
  };
  const main = ustarHeader(fields);
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  const paxHeader = ustarHeader({ name: "PaxHeader", mode: 0o644, size: pax.length, typeflag: "x", linkname: "", mtime: options.mtime });
  return Buffer.concat([paxHeader, pax, padding(pax.length), main]);
}

/** The first 100 bytes of a name, cut on a character boundary (readers use the PAX value). */
function truncate(name: string): string {
  let out = "";
  for (const ch of name) {
    if (Buffer.byteLength(out + ch) > 100) break;
    out += ch;
  }
  return out;
}

/** Writes entries, in the order given, to a writable sink; hashes what is written. */
export class TarWriter {
  private readonly hash: Hash = createHash("sha256");
  private size = 0;
  private readonly sink: NodeJS.WritableStream;
  private readonly options: TarOptions;

  constructor(sink: NodeJS.WritableStream, options: TarOptions) {
    this.sink = sink;
    this.options = options;
  }

  private async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.hash.update(chunk);
    this.size += chunk.length;
    if (!this.sink.write(chunk)) await once(this.sink, "drain");
  }

  async add(entry: TarEntry): Promise<void> {
    if (entry.type !== "file") {
      await this.write(entryHeader(entry, 0, this.options));
      return;
    }
    if ("data" in entry.source) {
      const data = entry.source.data;
      await this.write(entryHeader(entry, data.length, this.options));
      await this.write(data);
      await this.write(padding(data.length));
      return;
    }
    const file = entry.source.file;
    const size = statSync(file).size;
    await this.write(entryHeader(entry, size, this.options));
    let copied = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      const bytes = chunk as Buffer;
      copied += bytes.length;
      await this.write(bytes);
    }
    if (copied !== size) throw new Error(`tar: ${file} changed size while being archived (${size} → ${copied} bytes)`);
    await this.write(padding(size));
  }

  /** Writes the end-of-archive marker (two zero blocks) and returns the digest and size. */
  async finish(): Promise<WrittenBlob> {
    await this.write(Buffer.alloc(BLOCK * 2));
    return { digest: `sha256:${this.hash.digest("hex")}`, size: this.size };
  }
}

/** Writes a tar of the entries (in the order given) to a file. */
export async function writeTarFile(path: string, entries: readonly TarEntry[], options: TarOptions): Promise<WrittenBlob> {
  const out = createWriteStream(path);
  const opened = once(out, "open");
  const failed = new Promise<never>((_, reject) => out.once("error", reject));
  await Promise.race([opened, failed]);
  const writer = new TarWriter(out, options);
  const written = await Promise.race([
    (async () => {
      for (const entry of entries) await writer.add(entry);
      return writer.finish();
    })(),
    failed,
  ]);
  out.end();
  await Promise.race([once(out, "finish"), failed]);
  return written;
}

/** A tar of the entries in memory (small archives, and tests). */
export async function tarBytes(entries: readonly TarEntry[], options: TarOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const writer = new TarWriter(sink, options);
  for (const entry of entries) await writer.add(entry);
  await writer.finish();
  return Buffer.concat(chunks);
}
