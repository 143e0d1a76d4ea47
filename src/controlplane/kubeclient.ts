// A thin HTTP client for the Kubernetes API, authenticated by whatever a
// kubeconfig says (client certificates, tokens, exec plugins) through
// @kubernetes/client-node's KubeConfig. Used to install CRDs and by tests.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

export interface KubeRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path and query, e.g. `/api/v1/namespaces?limit=1`. */
  path: string;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  timeoutMs?: number;
}

export interface KubeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A non-2xx answer; `reason`, `message` and `details` come from the server's Status object. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  readonly status: number;
  readonly reason: string | undefined;
  readonly details: unknown;
  readonly body: string;
  constructor(req: Pick<KubeRequest, "method" | "path">, res: KubeResponse) {
    let parsed: { message?: unknown; reason?: unknown; details?: unknown } = {};
    try {
      parsed = JSON.parse(res.body) as typeof parsed;
    } catch {
      // not a Status object
    }
    const serverMessage = typeof parsed.message === "string" ? parsed.message : res.body.slice(0, 500);
    super(`${req.method} ${req.path}: HTTP ${res.status}: ${serverMessage}`);
    this.status = res.status;
    this.reason = typeof parsed.reason === "string" ? parsed.reason : undefined;
    this.details = parsed.details;
    this.body = res.body;
  }
  /** The message the API server gave, as a user of kubectl would read it. */
  get serverMessage(): string {
    try {
      const parsed = JSON.parse(this.body) as { message?: unknown };
      if (typeof parsed.message === "string") return parsed.message;
    } catch {
      // fall through
    }
    return this.body;
  }
}

export function loadKubeConfig(kubeconfigPath: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  if (kc.getCurrentCluster() === null) {
    throw new Error(`kubeconfig ${kubeconfigPath} has no current context with a cluster: set current-context`);
  }
  return kc;
}

/** Sends one request and returns the answer whatever its status. */
export async function kubeRequest(kc: KubeConfig, req: KubeRequest): Promise<KubeResponse> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error("kubeconfig has no current cluster");
  const url = new URL(cluster.server.replace(/\/+$/, "") + req.path);
  const options: RequestOptions = { method: req.method, headers: {} };
  await kc.applyToHTTPSOptions(options);
  const headers = options.headers as Record<string, string>;
  headers.Accept = req.accept ?? "application/json";
  let payload: string | undefined;
  if (req.body !== undefined) {
    payload = typeof req.body === "string" ? req.body : JSON.stringify(req.body);
    headers["Content-Type"] = req.contentType ?? "application/json";
    headers["Content-Length"] = String(Buffer.byteLength(payload));
  }
  const timeoutMs = req.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const r = url.protocol === "https:" ? httpsRequest(url, options) : httpRequest(url, options);
    r.setTimeout(timeoutMs, () => {
      r.destroy(new Error(`${req.method} ${req.path}: no answer from ${cluster.server} within ${timeoutMs}ms`));
    });
    r.on("error", reject);
    r.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    r.end(payload);
  });
}

/** Sends one request; throws KubeApiError unless the status is 2xx; returns the parsed JSON body. */
export async function kubeJson<T>(kc: KubeConfig, req: KubeRequest): Promise<T> {
  const res = await kubeRequest(kc, req);
  if (res.status < 200 || res.status >= 300) throw new KubeApiError(req, res);
  return (res.body === "" ? undefined : JSON.parse(res.body)) as T;
}
