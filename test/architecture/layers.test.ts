import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Linter } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
import { LAYERS, layerConfigs } from "../../hack/layers.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const packages = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

const SPECIFIER = /(?:^|\n)\s*(?:import|export)\b[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Every import of a source text that its layer may not make, as "file → target". */
function forbiddenImports(file: string, text: string): string[] {
  const layer = relative(join(root, "src"), file).split("/")[0]!;
  const rule = LAYERS[layer];
  if (rule === undefined) return [`${relative(root, file)}: src/${layer} is not a layer of hack/layers.js`];
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith("node:")) continue;
    if (spec.startsWith(".")) {
      const target = relative(join(root, "src"), resolve(dirname(file), spec)).split("/")[0]!;
      if (target !== layer && !rule.layers.includes(target)) out.push(`${relative(root, file)} → src/${target}`);
      continue;
    }
    const pkg = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
    if (rule.packages !== "*" && !rule.packages.includes(pkg)) out.push(`${relative(root, file)} → ${pkg}`);
  }
  return out;
}

/** The layers in an order where each imports only layers before it; throws on a cycle. */
function layerOrder(): string[] {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (layer: string, path: string[]): void => {
    if (order.includes(layer)) return;
    if (visiting.has(layer)) throw new Error(`cycle: ${[...path, layer].join(" → ")}`);
    visiting.add(layer);
    for (const dep of LAYERS[layer]!.layers) visit(dep, [...path, layer]);
    visiting.delete(layer);
    order.push(layer);
  };
  for (const layer of Object.keys(LAYERS)) visit(layer, []);
  return order;
}

describe("the layering of src/ (hack/layers.js)", () => {
  it("is kept by every source file: no import of a layer or package its layer may not use", () => {
    const violations = sourceFiles(join(root, "src")).flatMap((f) => forbiddenImports(f, readFileSync(f, "utf8")));
    expect(violations).toEqual([]);
  });

  it("reports an import from the model up into the controller, and from the controller into the token service", () => {
    expect(forbiddenImports(join(root, "src/model/x.ts"), 'import { Outcome } from "../controller/runtime/outcome.ts";')).toEqual(["src/model/x.ts → src/controller"]);
    expect(forbiddenImports(join(root, "src/controller/x/y.ts"), 'import type { IssuerCache } from "../../issuer/index.ts";')).toEqual(["src/controller/x/y.ts → src/issuer"]);
    expect(forbiddenImports(join(root, "src/issuer/x.ts"), 'export { Store } from "../controller/controllers/store.ts";')).toEqual(["src/issuer/x.ts → src/controller"]);
    expect(forbiddenImports(join(root, "src/token/x.ts"), 'import { KubeConfig } from "@kubernetes/client-node";')).toEqual(["src/token/x.ts → @kubernetes/client-node"]);
  });

  it("has no cycle: every layer imports only layers below it, and the model only src/token and src/api", () => {
    const order = layerOrder();
    for (const [layer, rule] of Object.entries(LAYERS)) for (const dep of rule.layers) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(layer));
    expect(LAYERS.model!.layers).toEqual(["token", "api"]);
    expect(LAYERS.controller!.layers).not.toContain("issuer");
    expect(LAYERS.issuer!.layers).not.toContain("controller");
  });

  it("is what docs/architecture.md's source layout says each folder may import", () => {
    const doc = readFileSync(join(root, "docs/architecture.md"), "utf8");
    const rows = new Map<string, string[]>();
    for (const m of doc.matchAll(/^\| `src\/([a-z]+)\/` \|[^|]*\|([^|]*)\|$/gm)) {
      rows.set(m[1]!, [...m[2]!.matchAll(/`src\/([a-z]+)`/g)].map((x) => x[1]!).sort());
    }
    expect([...rows.keys()].sort()).toEqual(Object.keys(LAYERS).sort());
    for (const [layer, rule] of Object.entries(LAYERS)) expect({ layer, imports: rows.get(layer) }).toEqual({ layer, imports: [...rule.layers].sort() });
  });

  it("is enforced by lint: ESLint refuses a forbidden import with the layer's rule", () => {
    const linter = new Linter({ configType: "flat" });
    const config: Linter.Config[] = [{ files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } }, ...(layerConfigs(packages) as Linter.Config[])];
    const lint = (layer: string, code: string, file = "x.ts"): string[] => linter.verify(code, config, `src/${layer}/${file}`).map((m) => m.ruleId ?? m.message);
    expect(lint("model", 'import { Outcome } from "../controller/runtime/outcome.ts";\n')).toEqual(["no-restricted-imports"]);
    expect(lint("controller", 'import { startTokenService } from "../issuer/index.ts";\n')).toEqual(["no-restricted-imports"]);
    expect(lint("issuer", 'import { Store } from "../controller/controllers/store.ts";\n')).toEqual(["no-restricted-imports"]);
    expect(lint("token", 'import { KubeConfig } from "@kubernetes/client-node";\n')).toEqual(["no-restricted-imports"]);
    expect(lint("controller", 'import { names } from "../../model/names.ts";\nimport { pino } from "pino";\n', "controllers/x.ts")).toEqual([]);
    expect(lint("controller", 'import { startTokenService } from "../../issuer/index.ts";\n', "controllers/x.ts")).toEqual(["no-restricted-imports"]);
    // A folder of a layer named like another layer (src/token/lib) is that layer's own.
    expect(lint("token", 'import { b64 } from "../lib/base64url.ts";\n', "keys/x.ts")).toEqual([]);
    expect(lint("token", 'import { b64 } from "../../lib/flags.ts";\n', "keys/x.ts")).toEqual(["no-restricted-imports"]);
  });
});
