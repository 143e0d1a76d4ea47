// Output of `kubectl keyward`: kubectl-style tables (upper-case headers, columns three spaces
// apart, <none> for nothing), key ids shortened for reading, sizes in KiB.

export const NONE = "<none>";

/** Aligns rows under headers; cells never contain a newline or a tab. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = (cell: string): string => (cell === "" ? NONE : cell.replace(/[\s]+/g, " "));
  const body = rows.map((r) => headers.map((_, i) => clean(r[i] ?? "")));
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join("")
      .trimEnd();
  return [line(headers), ...body.map(line)].join("\n") + "\n";
}

/** The first 8 characters of a kid: enough to tell a tenant's keys apart at a glance. */
export function shortKid(kid: string): string {
  return kid.length <= 8 ? kid : kid.slice(0, 8);
}

/** A size for people: 512 B, 12.3 KiB, 1.0 MiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** RFC 3339 in UTC with second precision. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
