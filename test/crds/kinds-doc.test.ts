import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = new URL("../../", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), "utf8");
interface CrdSpec {
  scope: string;
  names: { kind: string; shortNames?: string[] };
}
const crds = readdirSync(new URL("crds/", root))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => (parse(read(`crds/${f}`)) as { spec: CrdSpec }).spec);

/** The rows of the first table of docs/api.md: kind, scope, short name. */
function apiKinds(): { kind: string; scope: string; shortName: string }[] {
  const doc = read("docs/api.md");
  return [...doc.matchAll(/^\| \[(\w+)\]\([^)]*\) \| (Namespaced|Cluster) \| `(\w+)` \|/gm)].map((m) => ({ kind: m[1]!, scope: m[2]!, shortName: m[3]! }));
}

const NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];

describe("the kinds docs/api.md and the README list", () => {
  it("are the kinds of crds/, with their scope and short name, and their number is spelled right", () => {
    const want = crds.map((c) => ({ kind: c.names.kind, scope: c.scope, shortName: c.names.shortNames?.[0] ?? "" })).sort((a, b) => a.kind.localeCompare(b.kind));
    expect([...apiKinds()].sort((a, b) => a.kind.localeCompare(b.kind))).toEqual(want);
    expect(read("docs/api.md")).toContain(`keyward adds ${NUMBERS[crds.length]!} kinds`);
    expect(read("docs/api.md")).toContain(`All ${NUMBERS[crds.length]!} are in the category \`keyward\``);
  });

  it("each appear in the README's concept table", () => {
    const readme = read("README.md");
    for (const c of crds) expect({ kind: c.names.kind, inReadme: readme.includes(`**\`${c.names.kind}\`**`) || readme.includes(`**\`RotationPolicy\`** / **\`${c.names.kind}\`**`) }).toEqual({ kind: c.names.kind, inReadme: true });
  });
});
