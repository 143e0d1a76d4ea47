// Loading @kubernetes/client-node without its generated API clients.
//
// keyward uses two parts of client-node: KubeConfig (kubeconfig files, in-cluster
// service accounts, client certificates, exec and OIDC credentials) and its fetch
// transport (RequestContext, IsomorphicFetchHttpLibrary). Its config.js module
// imports the package's generated index only for makeApiClient's two helpers,
// and that index loads every generated API and model of Kubernetes: about 850
// modules, 15 MiB of V8 heap (most of it their source text) and 37 MiB of RSS in
// every process, the controller's and each verifier's, none of it used.
//
// A resolve hook (node:module registerHooks) hands config.js, in place of that
// index, a module exporting just those two helpers from the same package files.
// A name config.js imports that the module lacks would stop the process as it
// loads (an ESM link error), never at a request. keyward's own imports of
// client-node name its files (dist/config.js, dist/gen/http/http.js), not the
// package's index, which would load everything again.

import { registerHooks } from "node:module";

/** The package file whose import of the generated index is replaced. */
const CONFIG_MODULE = "/@kubernetes/client-node/dist/config.js";
const GENERATED_INDEX = "./gen/index.js";

/** What config.js imports from the generated index, and the files that define it. */
const CONFIG_NEEDS: readonly (readonly [name: string, file: string])[] = [
  ["createConfiguration", "gen/configuration.js"],
  ["ServerConfiguration", "gen/servers.js"],
];

let registered = false;

/**
 * The module config.js gets in place of the generated index: a data: URL that
 * re-exports what config.js needs from the files next to it.
 */
function leanIndexFor(configUrl: string): string {
  const dist = new URL(".", configUrl);
  const source = CONFIG_NEEDS.map(([name, file]) => `export { ${name} } from ${JSON.stringify(new URL(file, dist).href)};`).join("\n");
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/**
 * Installs the resolve hook in this process (once; later calls do nothing). Call
 * it before the first import of client-node: a module already loaded stays as it is.
 */
export function loadClientNodeLean(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === GENERATED_INDEX && context.parentURL?.endsWith(CONFIG_MODULE) === true) {
        return { url: leanIndexFor(context.parentURL), format: "module", shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}
