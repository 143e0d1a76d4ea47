// Finds the KubeConfig: an explicit path, else $KUBECONFIG, else the in-cluster
// service account. Each step that does not apply is recorded, so the error says
// exactly what was tried.

import { existsSync } from "node:fs";
import { isIPv6 } from "node:net";
import { delimiter } from "node:path";
import { KubeConfig } from "@kubernetes/client-node/dist/config.js";
import { KubeError } from "./errors.ts";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface LoadKubeConfigOptions {
  /** A kubeconfig file given explicitly (a --kubeconfig flag). Wins over everything else. */
  path?: string | undefined;
  /** A context to use instead of the file's current-context. */
  context?: string | undefined;
  /** Environment to read KUBECONFIG and KUBERNETES_SERVICE_HOST/PORT from. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Prefix of the service account directory, for tests of in-cluster loading. Default "". */
  inClusterRoot?: string;
}

export type KubeConfigSource = "path" | "KUBECONFIG" | "in-cluster";

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  source: KubeConfigSource;
  /** The file(s) read, or the service account directory. */
  location: string;
  /** The API server URL of the current context. */
  server: string;
}

/** Raised when no usable kubeconfig was found, or the one found is unusable. */
export class KubeConfigError extends KubeError {
  readonly tried: readonly string[];
  constructor(message: string, tried: readonly string[], options?: { cause?: unknown }) {
    super("ERR_KUBE_CONFIG", tried.length > 0 ? `${message}. Tried: ${tried.join("; ")}` : message, options);
    this.name = "KubeConfigError";
    this.tried = tried;
  }
}

export function loadKubeConfig(opts: LoadKubeConfigOptions = {}): LoadedKubeConfig {
  const env = opts.env ?? process.env;
  const tried: string[] = [];

  if (opts.path !== undefined && opts.path !== "") {
    return finish(fromFiles([opts.path], "the kubeconfig path given", tried), "path", opts.path, opts.context, tried);
  }
  tried.push("no kubeconfig path given");

  const kubeconfigEnv = env.KUBECONFIG;
  if (kubeconfigEnv !== undefined && kubeconfigEnv !== "") {
    const files = kubeconfigEnv.split(delimiter).filter((f) => f !== "");
    return finish(fromFiles(files, "KUBECONFIG", tried), "KUBECONFIG", files.join(delimiter), opts.context, tried);
  }
  tried.push("KUBECONFIG is not set");

  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const root = opts.inClusterRoot ?? "";
  const tokenFile = `${root}${SERVICE_ACCOUNT_DIR}/token`;
  if (host === undefined || host === "" || port === undefined || port === "") {
    tried.push("not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)");
    throw new KubeConfigError("no Kubernetes configuration found: pass --kubeconfig, set KUBECONFIG, or run in a pod with a service account", tried);
  }
  if (!existsSync(tokenFile)) {
    tried.push(`in-cluster: ${tokenFile} does not exist (is automountServiceAccountToken false?)`);
    throw new KubeConfigError("no Kubernetes configuration found: the pod has no service account token mounted", tried);
  }
  const kc = new KubeConfig();
  kc.loadFromCluster(root);
  // loadFromCluster reads the address from process.env; use the one read above.
  const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  kc.clusters = kc.clusters.map((c) => ({ ...c, server }));
  return finish(kc, "in-cluster", `${root}${SERVICE_ACCOUNT_DIR}`, opts.context, tried);
}

function fromFiles(files: string[], label: string, tried: string[]): KubeConfig {
  const kc = new KubeConfig();
  let first = true;
  for (const file of files) {
    if (!existsSync(file)) {
      tried.push(`${label}: ${file} does not exist`);
      throw new KubeConfigError(`kubeconfig ${file} (from ${label}) does not exist`, tried);
    }
    try {
      if (first) {
        kc.loadFromFile(file);
        first = false;
      } else {
        const more = new KubeConfig();
        more.loadFromFile(file);
        mergeFirstWins(kc, more);
      }
    } catch (err) {
      tried.push(`${label}: ${file} could not be read`);
      throw new KubeConfigError(`kubeconfig ${file} (from ${label}) is not valid: ${errorMessage(err)}`, tried, { cause: err });
    }
  }
  return kc;
}

/** kubectl's rule for KUBECONFIG lists: the first file to name a cluster, user, context or current-context wins. */
function mergeFirstWins(kc: KubeConfig, more: KubeConfig): void {
  for (const c of more.clusters) if (kc.getCluster(c.name) === null) kc.addCluster(c);
  for (const u of more.users) if (kc.getUser(u.name) === null) kc.addUser(u);
  for (const c of more.contexts) if (kc.getContextObject(c.name) === null) kc.addContext(c);
  if (kc.getCurrentContext() === "" && more.getCurrentContext() !== "") kc.setCurrentContext(more.getCurrentContext());
}

function finish(kc: KubeConfig, source: KubeConfigSource, location: string, context: string | undefined, tried: string[]): LoadedKubeConfig {
  if (context !== undefined && context !== "") {
    if (kc.getContextObject(context) === null) {
      throw new KubeConfigError(`kubeconfig ${location} has no context "${context}" (it has: ${kc.getContexts().map((c) => c.name).join(", ") || "none"})`, tried);
    }
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null || cluster.server === "") {
    const ctx = kc.getCurrentContext();
    throw new KubeConfigError(
      `kubeconfig ${location} has no cluster for its current context${ctx !== "" ? ` "${ctx}"` : ""}: set current-context or pass a context`,
      tried,
    );
  }
  return { kubeConfig: kc, source, location, server: cluster.server };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
