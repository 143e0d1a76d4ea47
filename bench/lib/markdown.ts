// Writing bench results into docs/benchmarks.md, one `## ` section per bench.

import { existsSync, readFileSync, writeFileSync } from "node:fs";

/** A Markdown table; columns after the first are right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  const rule = header.map((_, i) => (i === 0 ? "---" : "---:"));
  return [line(header), line(rule), ...rows.map(line)].join("\n");
}

/**
 * Replaces the section `## <heading>` of a Markdown file (up to the next `## `
 * heading) with `body`, or appends it; creates the file with a title if missing.
 */
export function replaceSection(file: string, heading: string, body: string): void {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmarks\n";
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  const section = [`## ${heading}`, "", ...body.trimEnd().split("\n"), ""];
  if (start < 0) {
    const head = text.trimEnd().split("\n");
    writeFileSync(file, [...head, "", ...section].join("\n"));
    return;
  }
  let end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  if (end < 0) end = lines.length;
  const tail = lines.slice(end);
  writeFileSync(file, [...lines.slice(0, start), ...section, ...tail].join("\n").trimEnd() + "\n");
}

export function formatRate(opsPerSecond: number): string {
  return Math.round(opsPerSecond).toLocaleString("en-US");
}

export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(2)}×`;
}
