// What the end-to-end tests need: the cluster (KEYWARD_E2E_KUBECONFIG), the protected echo
// service (KEYWARD_E2E_URL, a port-forward to it), the tenant (KEYWARD_E2E_NAMESPACE), requests
// with and without a bearer token, and polling with a deadline.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { KubeClient, loadKubeConfig, Resources } from "../../src/kube/index.ts";
import type { KubeObject } from "../../src/kube/index.ts";
import type { AccessToken, ApiKey } from "../../src/api/index.ts";

export interface E2EEnv {
  client: KubeClient;
  url: string;
  namespace: string;
  /** How soon a revoked token must be refused (KEYWARD_E2E_REVOCATION_DEADLINE_MS, default 1000). */
  revocationDeadlineMs: number;
}

export function e2eEnv(env: Record<string, string | undefined> = process.env): E2EEnv {
  const missing = ["KEYWARD_E2E_KUBECONFIG", "KEYWARD_E2E_URL"].filter((v) => (env[v] ?? "") === "");
  if (missing.length > 0) {
    throw new Error(`${missing.join(" and ")} must be set: the end-to-end tests run through hack/dev e2e (a local node) or hack/kind-e2e.sh, which create the cluster and set them`);
  }
  const { kubeConfig } = loadKubeConfig({ path: env.KEYWARD_E2E_KUBECONFIG });
  return {
    client: new KubeClient({ kubeConfig, fieldManager: "keyward-e2e" }),
    url: env.KEYWARD_E2E_URL!.replace(/\/+$/, ""),
    namespace: env.KEYWARD_E2E_NAMESPACE ?? "acme",
    revocationDeadlineMs: Number(env.KEYWARD_E2E_REVOCATION_DEADLINE_MS ?? "1000"),
  };
}

export interface Answer {
  status: number;
  body: string;
  wwwAuthenticate: string | null;
}

/** A request to the protected service, with `token` as bearer token when given. */
export async function call(e: E2EEnv, method: string, path: string, token?: string, timeoutMs = 10_000): Promise<Answer> {
  const res = await fetch(`${e.url}${path}`, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, body: await res.text(), wwwAuthenticate: res.headers.get("www-authenticate") };
}

/** Polls `probe` until it returns a value (not undefined or false) or `timeoutMs` passes. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 120_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? "" : `; last error: ${(last as Error).message}`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/** The kid in a compact JWS's protected header. */
export function kidOf(token: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8")) as { kid?: unknown };
    return typeof header.kid === "string" ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The token in an AccessToken's Secret, once the controller has issued one: signed by `kid`
 * when given, and other than `not` when given.
 */
export async function issuedToken(e: E2EEnv, name: string, opts: { kid?: string; not?: string } = {}): Promise<string> {
  const wanted = `a token in the Secret of accesstoken ${e.namespace}/${name}${opts.kid === undefined ? "" : ` signed by key ${opts.kid}`}`;
  return eventually(wanted, async () => {
    const at = await e.client.get<AccessToken>(Resources.accessTokens, { name, namespace: e.namespace });
    const secretName = at.status?.secretName ?? at.spec.secretName ?? name;
    const secret = await e.client.find<Secret>(Resources.secrets, { name: secretName, namespace: e.namespace });
    const encoded = secret?.data?.token;
    if (encoded === undefined) return undefined;
    const token = Buffer.from(encoded, "base64").toString("utf8");
    if (token === opts.not) return undefined;
    if (opts.kid !== undefined && kidOf(token) !== opts.kid) return undefined;
    return token;
  });
}

export async function apiKey(e: E2EEnv, name: string): Promise<ApiKey> {
  return e.client.get<ApiKey>(Resources.apiKeys, { name, namespace: e.namespace });
}

// --- the local node (hack/dev e2e): what the failure tests need beyond the API ---------

export const NodeResources = {
  pods: { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true },
  nodes: { group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false },
  deployments: { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
} as const;

export interface Pod extends KubeObject {
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; containerID?: string; ready: boolean; restartCount: number }[];
  };
}

export interface NodeEnv {
  /** The node's state file: its processes' pids, rewritten when the node restarts one. */
  statePath: string;
  /** ctr built with the node, and the node's containerd socket. */
  ctr: string;
  containerdSocket: string;
  kubectl: string;
  kubeconfig: string;
}

export function nodeEnv(env: Record<string, string | undefined> = process.env): NodeEnv {
  const statePath = env.KEYWARD_E2E_NODE_STATE ?? "";
  const ctr = env.KEYWARD_E2E_CTR ?? "";
  if (statePath === "" || ctr === "") {
    throw new Error("KEYWARD_E2E_NODE_STATE and KEYWARD_E2E_CTR must be set: the node failure tests run through hack/dev e2e, which starts the node and sets them");
  }
  const state = nodeState(statePath);
  return {
    statePath,
    ctr,
    containerdSocket: `${state.nodeDir}/containerd/containerd.sock`,
    kubectl: `${dirname(ctr)}/kubectl`,
    kubeconfig: env.KEYWARD_E2E_KUBECONFIG ?? "",
  };
}

export function nodeState(path: string): { nodeDir: string; pids: Record<string, number> } {
  return JSON.parse(readFileSync(path, "utf8")) as { nodeDir: string; pids: Record<string, number> };
}

/** kubectl built with the node, on the test cluster; a failure's message carries kubectl's stderr. */
export function kubectl(n: NodeEnv, args: readonly string[], input?: string): string {
  return execFileSync(n.kubectl, [`--kubeconfig=${n.kubeconfig}`, ...args], { encoding: "utf8", input, timeout: 120_000, stdio: ["pipe", "pipe", "pipe"] });
}

/** Kills a container's task with SIGKILL through the node's containerd, as a crash would. */
export function killContainer(n: NodeEnv, containerId: string): void {
  execFileSync(n.ctr, [`--address=${n.containerdSocket}`, "--namespace=k8s.io", "tasks", "kill", "--signal", "SIGKILL", containerId], { timeout: 30_000 });
}

/** The Pods of a Deployment's selector, running and not being deleted. */
export async function runningPods(e: E2EEnv, namespace: string, labelSelector: string): Promise<Pod[]> {
  const list = await e.client.list<Pod>(NodeResources.pods, { namespace, labelSelector });
  return list.items.filter((p) => p.status?.phase === "Running" && p.metadata?.deletionTimestamp === undefined);
}

export function isReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
}

export interface Sample {
  at: number;
  status: number;
  code: string | undefined;
}

/**
 * Requests sent one after another (each waits for the previous answer, at most every
 * `intervalMs`) until stop(); a request that finds nobody listening counts as status 0.
 */
export function traffic(e: E2EEnv, method: string, path: string, token: () => string | undefined, intervalMs = 50): { stop(): Promise<Sample[]> } {
  const samples: Sample[] = [];
  const running = { value: true };
  const loop = (async () => {
    while (running.value) {
      const at = Date.now();
      try {
        const r = await call(e, method, path, token(), 2000);
        let code: string | undefined;
        try {
          code = (JSON.parse(r.body) as { code?: string }).code;
        } catch {
          code = undefined;
        }
        samples.push({ at, status: r.status, code });
      } catch {
        samples.push({ at, status: 0, code: undefined });
      }
      const wait = intervalMs - (Date.now() - at);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    async stop(): Promise<Sample[]> {
      running.value = false;
      await loop;
      return samples;
    },
  };
}

/** What the echo workload logged: one JSON line per request it received. */
export function workloadSaw(n: NodeEnv, namespace: string, pod: string): { method: string; path: string; apiKey: string | null; authorization: string }[] {
  return kubectl(n, ["-n", namespace, "logs", pod, "-c", "echo"])
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { method: string; path: string; apiKey: string | null; authorization: string });
}
