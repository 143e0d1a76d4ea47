// The token service: an HTTPS server with the issuer API, the OAuth 2.0 token
// endpoint and per-tenant discovery. TLS from files reloaded on change, a
// request body limit, header and request timeouts, failed-attempt limiting.

import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { systemClock, type Clock } from "../kube/clock.ts";
import { errorFields, type Logger } from "../kube/logger.ts";
import { DEFAULT_ISSUER_FORM, TokenVerifier, type IssuerForm, type VerifierOptions } from "../token/index.ts";
import { secretSigner, type Signer } from "../model/signing-key/signer.ts";
import { handleIssue, ISSUER_PATH, sendIssuerError } from "./api.ts";
import { TenantBundles } from "./bundles.ts";
import type { IssuerCache } from "./cache.ts";
import type { ServiceContext } from "./context.ts";
import { DISCOVERY_PATH, handleDiscovery } from "./discovery.ts";
import { IssuerError } from "./errors.ts";
import { pathOf, sendJson } from "./http.ts";
import type { AuditEvents, IssuedTokenStore } from "./issue.ts";
import { handleToken, TOKEN_ENDPOINT_PATH } from "./oauth.ts";
import { FailureLimiter, type RateLimitOptions } from "./rate-limit.ts";
import { loadTlsPair, samePair, type TlsFiles, type TlsPair } from "./tls.ts";

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_TLS_POLL_MS = 10_000;

export interface TokenServiceOptions {
  /** Where to listen, e.g. { host: "0.0.0.0", port: 8443 }; port 0 picks a free one. */
  listen: { host: string; port: number };
  tls: TlsFiles & {
    /** How often the files are checked for a new certificate. Default 10 s; 0 turns polling off (reloadTls still works). */
    pollIntervalMs?: number;
  };
  /** The controller's configured issuer; a tenant's issuer is `{issuer}/{tenant}`. */
  issuer: string;
  /** The form of `iss` in the tokens issued here; default "tenant". */
  issuerForm?: IssuerForm;
  /** The URL clients reach the service at (jwks_uri, token_endpoint). Default the issuer. */
  publicUrl?: string;
  cache: IssuerCache;
  /** keyward's own namespace, where the ApiKeys' signing-key Secrets are. */
  systemNamespace: string;
  /** Signs the tokens. Default: the in-cluster signer over `cache.secrets` (secretSigner). */
  signer?: Signer;
  store: IssuedTokenStore;
  /** Audit Events on the ApiKeys tokens are issued for; null for none. */
  events?: AuditEvents | null;
  logger: Logger;
  clock?: Clock;
  maxBodyBytes?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  rateLimit?: RateLimitOptions;
  verifier?: VerifierOptions;
}

export interface RunningTokenService {
  readonly address: AddressInfo;
  /** https://127.0.0.1:<port> for the address listened on. */
  readonly url: string;
  /** Reads the certificate files again; true when a new pair was loaded. A pair that cannot serve is refused (false). */
  reloadTls(): Promise<boolean>;
  close(): Promise<void>;
}

export async function startTokenService(opts: TokenServiceOptions): Promise<RunningTokenService> {
  const log = opts.logger;
  const clock = opts.clock ?? systemClock;
  const verifier = new TokenVerifier(opts.verifier);
  const ctx: ServiceContext = {
    cache: opts.cache,
    systemNamespace: opts.systemNamespace,
    signer: opts.signer ?? secretSigner({ secrets: opts.cache.secrets, systemNamespace: opts.systemNamespace }),
    store: opts.store,
    events: opts.events ?? null,
    log,
    issuer: opts.issuer,
    issuerForm: opts.issuerForm ?? DEFAULT_ISSUER_FORM,
    bundles: new TenantBundles(opts.cache, verifier, log),
    verifier,
    clock,
    limiter: new FailureLimiter(clock, opts.rateLimit),
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    publicUrl: (opts.publicUrl ?? opts.issuer).replace(/\/+$/, ""),
  };

  let pair: TlsPair = await loadTlsPair(opts.tls);
  const server: Server = createServer({
    cert: pair.cert,
    key: pair.key,
    minVersion: "TLSv1.2",
    headersTimeout: opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS,
    requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    maxHeaderSize: 16 * 1024,
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    route(ctx, req, res).catch((err: unknown) => {
      if (err instanceof IssuerError) {
        if (!res.headersSent) sendIssuerError(res, err);
        return;
      }
      log.error({ err: errorFields(err), method: req.method, path: pathOf(req) }, "token service request failed");
      if (!res.headersSent) sendJson(res, 500, { error: "ERR_INTERNAL", message: "internal error" });
      else res.destroy();
    });
  });
  server.on("tlsClientError", (err) => {
    log.debug({ err: errorFields(err) }, "TLS handshake failed");
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.listen.port, opts.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log.info({ address: address.address, port: address.port, issuer: opts.issuer, issuerForm: ctx.issuerForm }, "token service listening");

  let reloading: Promise<boolean> | null = null;
  const reloadTls = (): Promise<boolean> => {
    reloading ??= (async () => {
      try {
        const next = await loadTlsPair(opts.tls);
        if (samePair(next, pair)) return false;
        server.setSecureContext({ cert: next.cert, key: next.key, minVersion: "TLSv1.2" });
        pair = next;
        log.info({ certFile: opts.tls.certFile }, "serving certificate reloaded");
        return true;
      } catch (err) {
        log.warn({ err: errorFields(err) }, "serving certificate not reloaded; the previous one stays in use");
        return false;
      } finally {
        reloading = null;
      }
    })();
    return reloading;
  };
  const pollMs = opts.tls.pollIntervalMs ?? DEFAULT_TLS_POLL_MS;
  const poll = pollMs > 0 ? setInterval(() => void reloadTls(), pollMs) : null;
  poll?.unref();

  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    address,
    url: `https://${host}:${address.port}`,
    reloadTls,
    close: () =>
      new Promise<void>((resolve) => {
        if (poll !== null) clearInterval(poll);
        server.close(() => { resolve(); });
        server.closeIdleConnections();
      }),
  };
}

async function route(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = pathOf(req);
  const method = req.method ?? "GET";
  if (path === "/healthz") {
    sendJson(res, 200, { ok: true });
    return;
  }
  const issuer = ISSUER_PATH.exec(path);
  const discovery = DISCOVERY_PATH.exec(path);
  const known = issuer !== null || discovery !== null || path === TOKEN_ENDPOINT_PATH;
  if (!known) {
    req.resume();
    throw new IssuerError("ERR_NOT_FOUND", `no such endpoint: ${path.slice(0, 128)}`);
  }
  const wanted = discovery !== null ? ["GET", "HEAD"] : ["POST"];
  if (!wanted.includes(method)) {
    req.resume();
    sendJson(res, 405, { error: "ERR_METHOD_NOT_ALLOWED", message: `use ${wanted.join(" or ")}` }, { allow: wanted.join(", ") });
    return;
  }
  if (!ctx.cache.synced()) {
    req.resume();
    throw new IssuerError("ERR_NOT_READY", "the token service is starting: retry in a few seconds");
  }
  if (issuer !== null) {
    await handleIssue(ctx, req, res, issuer[1] ?? "");
    return;
  }
  if (discovery !== null) {
    handleDiscovery(ctx, res, discovery[1] ?? "", discovery[3] ?? "", method === "HEAD");
    return;
  }
  await handleToken(ctx, req, res);
}
