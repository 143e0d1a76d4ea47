import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { grants, type PolicyRule } from "./support/k8s.ts";

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

/** The rules of the ClusterRole `name` in a manifest file. */
function rulesOf(path: string, name: string): PolicyRule[] {
  const docs = parseAllDocuments(read(path)).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string }; rules?: PolicyRule[] });
  const role = docs.find((d) => d.kind === "ClusterRole" && d.metadata?.name === name);
  if (role === undefined) throw new Error(`${path} has no ClusterRole ${name}`);
  return role.rules ?? [];
}

/** The row of the role x action table of docs/security.md for `role`, column heading -> "yes" or "no" (the cell's first word). */
function tableRow(role: string): Record<string, string> {
  const lines = read("docs/security.md").split("\n");
  const header = lines.find((l) => l.startsWith("| | create / modify ApiKey |"));
  if (header === undefined) throw new Error("docs/security.md has no role x action table");
  const cells = (line: string): string[] => line.split("|").slice(1, -1).map((c) => c.trim());
  const row = lines.find((l) => cells(l)[0]?.startsWith(`\`${role}\``));
  if (row === undefined) throw new Error(`the role x action table of docs/security.md has no row for ${role}`);
  const columns = cells(header).slice(1);
  return Object.fromEntries(cells(row).slice(1).map((c, i) => [columns[i]!, /^\**(yes|no)\b/.exec(c)?.[1] ?? c]));
}

describe("the role x action table of docs/security.md", () => {
  const kw = "keyward.dev";
  /** Each column RBAC decides for a keyward role, as the access that decides it. */
  const COLUMNS: Record<string, (rules: PolicyRule[]) => boolean> = {
    "create / modify ApiKey": (r) => grants(r, kw, "apikeys", "create") && grants(r, kw, "apikeys", "update"),
    "rotate / revoke ApiKey": (r) => grants(r, kw, "apikeys", "patch"),
    AccessPolicy: (r) => grants(r, kw, "accesspolicies", "create") && grants(r, kw, "accesspolicies", "patch"),
    RotationPolicy: (r) => grants(r, kw, "rotationpolicies", "create") && grants(r, kw, "rotationpolicies", "patch"),
    ClusterRotationPolicy: (r) => grants(r, kw, "clusterrotationpolicies", "create") && grants(r, kw, "clusterrotationpolicies", "patch"),
    "create AccessToken": (r) => grants(r, kw, "accesstokens", "create"),
    "revoke AccessToken / IssuedToken": (r) => grants(r, kw, "accesstokens", "patch") && grants(r, kw, "issuedtokens", "patch"),
    "read token Secrets": (r) => grants(r, "", "secrets", "get"),
    "read private keys": (r) => grants(r, "", "secrets", "get"),
    "write the bundle ConfigMap": (r) => grants(r, "", "configmaps", "update", "keyward-bundle"),
  };
  const FILES: Record<string, string> = {
    "keyward-viewer": "config/rbac/apikey_viewer_role.yaml",
    "keyward-editor": "config/rbac/apikey_editor_role.yaml",
    "keyward-admin": "config/rbac/apikey_admin_role.yaml",
    "keyward-clusterrotationpolicy-admin": "config/rbac/clusterrotationpolicy_admin_role.yaml",
  };

  for (const [role, file] of Object.entries(FILES)) {
    it(`says exactly what ${role} grants`, () => {
      const rules = rulesOf(file, role);
      const row = tableRow(role);
      for (const [column, decides] of Object.entries(COLUMNS)) expect(row[column], `${role}: ${column}`).toBe(decides(rules) ? "yes" : "no");
    });
  }
});

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
