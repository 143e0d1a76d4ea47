// Authz mode: a forward-auth endpoint. The proxy in front of the workload asks here for
// every request and lets it through on 200 (copying the identity headers), or returns our
// 401/403/400/503 to the client. The original method and path come from:
//   - nginx auth_request:   X-Original-Method, X-Original-URI
//   - Traefik forwardAuth:  X-Forwarded-Method, X-Forwarded-Uri
//   - Envoy ext_authz HTTP: the request's own method and path, less --authz-path-prefix
// A request carrying two conventions that disagree is refused (400): a client must not be
// able to have a different path checked than the one the proxy routes.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Decider } from "./decide.ts";
import { badRequestAnswer } from "./answers.ts";
import { countHeader, firstHeader, identityHeaders, targetPath } from "./headers.ts";
import { answerFor, sendAnswer } from "./respond.ts";

export interface AuthzOptions {
  decider: Decider;
  /** Removed from the front of the request path (Envoy ext_authz path_prefix); "" for none. */
  pathPrefix: string;
  draining: () => boolean;
}

export type OriginalRequest = { ok: true; method: string; path: string; convention: "nginx" | "traefik" | "envoy" } | { ok: false; reason: string };

export const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;

/** The method and path of the request the proxy asks about. */
export function originalRequest(req: IncomingMessage, pathPrefix: string): OriginalRequest {
  const raw = req.rawHeaders;
  for (const name of ["x-original-uri", "x-original-method", "x-forwarded-uri", "x-forwarded-method"]) {
    if (countHeader(raw, name) > 1) return { ok: false, reason: `the ${name} header is repeated` };
  }
  const candidates: { method: string; path: string; convention: "nginx" | "traefik" }[] = [];
  const nginxUri = firstHeader(raw, "x-original-uri");
  if (nginxUri !== undefined) {
    const path = targetPath(nginxUri);
    if (path === null) return { ok: false, reason: "X-Original-URI must be an absolute path such as /api/v0/items" };
    candidates.push({ method: firstHeader(raw, "x-original-method") ?? req.method ?? "GET", path, convention: "nginx" });
  }
  const traefikUri = firstHeader(raw, "x-forwarded-uri");
  if (traefikUri !== undefined) {
    const path = targetPath(traefikUri);
    if (path === null) return { ok: false, reason: "X-Forwarded-Uri must be an absolute path such as /api/v0/items" };
    candidates.push({ method: firstHeader(raw, "x-forwarded-method") ?? req.method ?? "GET", path, convention: "traefik" });
  }
  type Candidate = { method: string; path: string; convention: "nginx" | "traefik" | "envoy" };
  const own = targetPath(req.url);
  let envoy: Candidate | null = null;
  if (pathPrefix !== "") {
    // With a prefix configured, a request under it is Envoy's: the path is its own, and
    // headers naming another one are refused below.
    if (own !== null && (own === pathPrefix || own.startsWith(`${pathPrefix}/`))) {
      envoy = { method: req.method ?? "GET", path: own === pathPrefix ? "/" : own.slice(pathPrefix.length), convention: "envoy" };
    } else if (candidates.length === 0) {
      return { ok: false, reason: `the path does not start with the configured prefix ${pathPrefix}` };
    }
  } else if (candidates.length === 0) {
    if (own === null) return { ok: false, reason: "the request target must be an absolute path" };
    envoy = { method: req.method ?? "GET", path: own, convention: "envoy" };
  }
  const all: Candidate[] = envoy === null ? candidates : [envoy, ...candidates];
  const chosen = all[0]!;
  for (const other of all.slice(1)) {
    if (other.method !== chosen.method || other.path !== chosen.path) {
      return { ok: false, reason: `the ${chosen.convention} and ${other.convention} forms of the original request disagree` };
    }
  }
  if (!METHOD.test(chosen.method)) return { ok: false, reason: "the original method is not an HTTP method" };
  return { ok: true, ...chosen };
}

export function createAuthzHandler(opts: AuthzOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (opts.draining()) res.shouldKeepAlive = false;
    const original = originalRequest(req, opts.pathPrefix);
    if (!original.ok) {
      sendAnswer(req, res, badRequestAnswer(original.reason));
      return;
    }
    if (countHeader(req.rawHeaders, "authorization") > 1) {
      sendAnswer(req, res, badRequestAnswer("send a single Authorization header"));
      return;
    }
    const d = opts.decider.decide({ method: original.method, path: original.path, authorization: req.headers.authorization });
    if (d.outcome !== "allow") {
      sendAnswer(req, res, answerFor(d));
      return;
    }
    res.writeHead(200, [...identityHeaders(d.identity), "cache-control", "no-store", "content-length", "0"]);
    res.end();
  };
}
