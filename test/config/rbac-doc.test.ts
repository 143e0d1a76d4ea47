import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { PolicyRule } from "./support/k8s.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), "utf8");

/** The rules of the Role or ClusterRole `name` in a manifest file, as "group/resource[name]:verb". */
function granted(path: string, name: string): string[] {
  const docs = parseAllDocuments(read(path)).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; rules?: PolicyRule[] });
  const role = docs.find((d) => (d.kind === "ClusterRole" || d.kind === "Role") && d.metadata?.name === name);
  if (role === undefined) throw new Error(`${path} has no role ${name}`);
  return (role.rules ?? []).flatMap((r) =>
    (r.apiGroups ?? []).flatMap((g) =>
      (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g === "" ? "core" : g}/${res}${r.resourceNames === undefined ? "" : `[${r.resourceNames.join(",")}]`}:${v}`)),
    ),
  ).sort();
}

/** The table of docs/install.md that follows `heading` (a line of its text), in the same form. */
function documented(heading: string): string[] {
  const doc = read("docs/install.md");
  const at = doc.indexOf(heading);
  if (at < 0) throw new Error(`docs/install.md has no "${heading}"`);
  const lines = doc.slice(at).split("\n");
  const start = lines.findIndex((l) => l.startsWith("| API group |"));
  const out: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const [group, resources, verbs] = line.split("|").slice(1, 4).map((c) => c.trim());
    const g = group === "core" ? "core" : group!.replace(/`/g, "");
    const only = /\(only `([^`]+)`\)/.exec(resources!)?.[1];
    const names = [...resources!.replace(/\(only[^)]*\)/, "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const res of names) for (const v of [...verbs!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)) out.push(`${g}/${res}${only === undefined ? "" : `[${only}]`}:${v}`);
  }
  return out.sort();
}

describe("the RBAC tables of docs/install.md", () => {
  it("say exactly what the controller's ClusterRole grants", () => {
    expect(documented("The ClusterRole `keyward-controller`")).toEqual(granted("config/rbac/role.yaml", "keyward-controller"));
  });

  it("say exactly what the leader-election Role grants", () => {
    expect(documented("The Role `keyward-leader-election`")).toEqual(granted("config/rbac/leader_election_role.yaml", "keyward-leader-election"));
  });

  it("say exactly what the token service's ClusterRole grants", () => {
    expect(documented("the ClusterRole `keyward-token-service`")).toEqual(granted("config/issuer/component/rbac.yaml", "keyward-token-service"));
  });

  it("list every directory of config/ with a kustomization", () => {
    const doc = read("docs/install.md");
    for (const dir of ["crd", "rbac", "manager", "default", "verifier", "prometheus", "samples", "issuer", "demo"]) expect(doc).toContain(`| \`config/${dir}\` |`);
  });
});
