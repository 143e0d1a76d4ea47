// A small tar reader for the image tests, written apart from hack/image/tar.ts so the tests
// check its output against the format rather than against itself: ustar headers (checksum
// verified), PAX extended headers (their records returned and applied to the next entry).
export interface ReadEntry {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtime: number;
  typeflag: string;
  linkname: string;
  /** The records of the PAX header that preceded this entry, if any. */
  pax: Record<string, string>;
  data: Buffer;
}

function field(block: Buffer, offset: number, width: number): string {
  const raw = block.subarray(offset, offset + width);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? width : end).toString("utf8");
}

function octal(block: Buffer, offset: number, width: number): number {
  const text = field(block, offset, width).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = Number(data.subarray(pos, space).toString());
    const record = data.subarray(space + 1, pos + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += length;
  }
  return out;
}

/** Every entry of a tar archive, in order; throws on a bad checksum or a missing end marker. */
export function readTar(archive: Buffer): ReadEntry[] {
  const entries: ReadEntry[] = [];
  let pos = 0;
  let pax: Record<string, string> = {};
  for (;;) {
    if (pos + 512 > archive.length) throw new Error("tar: no end-of-archive marker");
    const block = archive.subarray(pos, pos + 512);
    if (block.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (sum !== octal(block, 148, 8)) throw new Error(`tar: bad checksum at offset ${pos}`);
    const size = octal(block, 124, 12);
    const data = archive.subarray(pos + 512, pos + 512 + size);
    pos += 512 + Math.ceil(size / 512) * 512;
    const typeflag = field(block, 156, 1);
    if (typeflag === "x") {
      pax = paxRecords(data);
      continue;
    }
    if (field(block, 257, 6) !== "ustar") throw new Error(`tar: entry at ${pos} is not ustar`);
    const prefix = field(block, 345, 155);
    const name = field(block, 0, 100);
    entries.push({
      name: pax.path ?? (prefix === "" ? name : `${prefix}/${name}`),
      mode: octal(block, 100, 8),
      uid: octal(block, 108, 8),
      gid: octal(block, 116, 8),
      uname: field(block, 265, 32),
      gname: field(block, 297, 32),
      size,
      mtime: octal(block, 136, 12),
      typeflag,
      linkname: pax.linkpath ?? field(block, 157, 100),
      pax,
      data: Buffer.from(data),
    });
    pax = {};
  }
  return entries;
}
