// Finds the cluster the way kubectl does (--kubeconfig, else $KUBECONFIG, else ~/.kube/config,
// else in-cluster), and the namespace (-n, else the context's, else "default").

import { existsSync } from "node:fs";
import { join } from "node:path";
import { KubeClient, loadKubeConfig } from "../kube/index.ts";
import type { CommonOptions } from "./args.ts";
import { explain, Hints } from "./errors.ts";

export const FIELD_MANAGER = "kubectl-keyward";

export interface Connection {
  client: KubeClient;
  /** The namespace commands act in when -n is not given. */
  namespace: string;
}

export function connect(common: CommonOptions, env: Readonly<Record<string, string | undefined>>): Connection {
  let path = common.kubeconfig;
  if (path === undefined && (env.KUBECONFIG ?? "") === "") {
    const home = env.HOME ?? env.USERPROFILE;
    const fallback = home === undefined ? undefined : join(home, ".kube", "config");
    if (fallback !== undefined && existsSync(fallback)) path = fallback;
  }
  let loaded;
  try {
    loaded = loadKubeConfig({ path, context: common.context, env: { ...env } });
  } catch (err) {
    throw explain(err, { kind: "kubeconfig", resource: "kubeconfig", verb: "load", permissionHint: Hints.readKeys });
  }
  const kc = loaded.kubeConfig;
  const contextNamespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  const namespace = common.namespace ?? (contextNamespace !== undefined && contextNamespace !== "" ? contextNamespace : "default");
  return { client: new KubeClient({ kubeConfig: kc, fieldManager: FIELD_MANAGER, userAgent: FIELD_MANAGER }), namespace };
}
