// The layers of src/ and what each may import: the one statement of keyward's
// module graph. eslint.config.js turns it into lint rules, and
// test/architecture/layers.test.ts checks the sources and docs/architecture.md
// against it. Every arrow points down: a layer imports only layers listed
// before it, so the graph has no cycle.
//
//   layers:   the keyward folders (src/<name>/) a layer may import
//   packages: the npm packages it may import ("node:*" is always allowed); "*": any

export const LAYERS = {
  token: { layers: [], packages: ["jose"] },
  api: { layers: [], packages: [] },
  lib: { layers: [], packages: ["pino"] },
  injector: { layers: [], packages: [] },
  model: { layers: ["token", "api"], packages: ["cron-parser"] },
  kube: { layers: ["api"], packages: ["@kubernetes/client-node", "undici"] },
  controlplane: { layers: ["lib"], packages: ["yaml", "@kubernetes/client-node"] },
  webhook: { layers: ["injector", "kube", "lib"], packages: ["prom-client"] },
  controller: { layers: ["model", "kube", "token", "api", "lib"], packages: ["pino", "prom-client"] },
  issuer: { layers: ["model", "kube", "token", "api", "lib"], packages: ["pino"] },
  verifier: { layers: ["model", "kube", "token", "lib"], packages: ["pino", "prom-client", "undici", "yaml", "@kubernetes/client-node", "@grpc/grpc-js", "@grpc/proto-loader"] },
  plugin: { layers: ["model", "injector", "kube", "token", "api"], packages: ["yaml"] },
  demo: { layers: ["controlplane", "plugin", "kube", "token", "api", "lib"], packages: ["yaml", "@kubernetes/client-node"] },
  cli: { layers: ["controller", "issuer", "webhook", "verifier", "model", "kube", "token", "api", "lib"], packages: ["pino", "@kubernetes/client-node"] },
};

/** Deepest folder below src/<layer>/ the rules cover (a file deeper than that is a lint error). */
export const MAX_DEPTH = 4;

/**
 * The ESLint no-restricted-imports option for files of `layer` that lie `depth`
 * folders below src/ (src/x/a.ts: 1, src/x/y/a.ts: 2). A relative import climbs
 * `depth` times to reach src/, so "../".repeat(depth) + "<layer>/" names a
 * layer (a folder of a layer with the same name, such as src/token/lib, does
 * not). `packages`: every npm package the project depends on; those the layer
 * may not use are refused.
 */
export function restrictedImports(layer, packages, depth = 1) {
  const rule = LAYERS[layer];
  const forbidden = Object.keys(LAYERS).filter((other) => other !== layer && !rule.layers.includes(other));
  const patterns = [];
  if (forbidden.length > 0) {
    patterns.push({
      regex: `^(\\./)*${"\\.\\./".repeat(depth)}(${forbidden.join("|")})(/|$)`,
      message: `src/${layer} may import ${rule.layers.length === 0 ? "no other part of keyward" : `only ${rule.layers.map((l) => `src/${l}`).join(", ")}`} (hack/layers.js, docs/architecture.md).`,
    });
  }
  const refused = rule.packages === "*" ? [] : packages.filter((p) => !rule.packages.includes(p));
  if (refused.length > 0) {
    patterns.push({
      group: refused.flatMap((p) => [p, `${p}/*`]),
      message: `src/${layer} may import only the packages ${["node:*", ...rule.packages].join(", ")} (hack/layers.js).`,
    });
  }
  return ["error", { patterns }];
}

/** ESLint config blocks: the layering rule for every file of every layer. */
export function layerConfigs(packages) {
  return Object.keys(LAYERS).flatMap((layer) =>
    Array.from({ length: MAX_DEPTH }, (_, i) => ({
      files: [`src/${layer}/${"*/".repeat(i)}*.ts`],
      rules: { "no-restricted-imports": restrictedImports(layer, packages, i + 1) },
    })),
  );
}
