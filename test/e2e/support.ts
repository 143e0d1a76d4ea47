// What the end-to-end tests need: the cluster (KEYWARD_E2E_KUBECONFIG), the protected echo
// service (KEYWARD_E2E_URL, a port-forward to it), the tenant (KEYWARD_E2E_NAMESPACE), requests
// with and without a bearer token, and polling with a deadline.
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
    throw new Error(`${missing.join(" and ")} must be set: the end-to-end tests run through hack/kind-e2e.sh, which creates the cluster and sets them`);
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
export async function call(e: E2EEnv, method: string, path: string, token?: string): Promise<Answer> {
  const res = await fetch(`${e.url}${path}`, {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
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
