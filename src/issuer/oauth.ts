// POST /oauth2/token: the OAuth 2.0 client credentials grant (RFC 6749 §4.4),
// with client authentication by HTTP Basic (client_secret_basic) or by form
// fields (client_secret_post), never both. Errors follow RFC 6749 §5.2.

import type { IncomingMessage, ServerResponse } from "node:http";
import { clientCredentialsEnabled, clientSecretHashSecretName, clientSecretMatches, parseClientId, readClientSecretHash } from "../model/client-credentials.ts";
import type { ServiceContext } from "./context.ts";
import { IssuerError, OAuthError } from "./errors.ts";
import { mediaType, readBody, sendJson, sourceOf } from "./http.ts";
import { issueForApiKey } from "./issue.ts";

export const TOKEN_ENDPOINT_PATH = "/oauth2/token";
const REALM = `Basic realm="keyward", charset="UTF-8"`;
/** Compared against when the client is unknown, so an unknown client takes as long as a wrong secret. */
const NO_HASH = "0".repeat(64);

interface ClientAuth {
  method: "basic" | "post";
  clientId: string;
  clientSecret: string;
}

function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, " "));
}

/** Parses the form; a parameter sent twice is invalid_request (RFC 6749 §3.2). */
function parseForm(body: Buffer): Map<string, string> {
  const params = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(body.toString("utf8"))) {
    if (params.has(k)) throw new OAuthError("invalid_request", `the parameter ${k} is sent more than once`);
    params.set(k, v);
  }
  return params;
}

function clientAuth(req: IncomingMessage, form: Map<string, string>): ClientAuth | null {
  const header = req.headers.authorization;
  const formId = form.get("client_id");
  const formSecret = form.get("client_secret");
  if (header !== undefined) {
    const m = /^basic +([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
    if (m?.[1] === undefined) throw new OAuthError("invalid_request", "the Authorization header must be HTTP Basic with the client_id and client_secret");
    if (formSecret !== undefined) throw new OAuthError("invalid_request", "authenticate with HTTP Basic or with client_id and client_secret in the body, not both");
    const decoded = Buffer.from(m[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new OAuthError("invalid_request", "the HTTP Basic credentials must be client_id:client_secret");
    let clientId: string;
    let clientSecret: string;
    try {
      clientId = formDecode(decoded.slice(0, colon));
      clientSecret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw new OAuthError("invalid_request", "the HTTP Basic credentials are not form-encoded (RFC 6749 §2.3.1)");
    }
    if (formId !== undefined && formId !== clientId) throw new OAuthError("invalid_request", "client_id in the body differs from the HTTP Basic client_id");
    return { method: "basic", clientId, clientSecret };
  }
  if (formId === undefined && formSecret === undefined) return null;
  if (formId === undefined || formSecret === undefined) throw new OAuthError("invalid_request", "send both client_id and client_secret, or use HTTP Basic");
  return { method: "post", clientId: formId, clientSecret: formSecret };
}

function sendOAuthError(res: ServerResponse, err: OAuthError, basic: boolean): void {
  const headers: Record<string, string> = { pragma: "no-cache" };
  if (err.status === 401 && basic) headers["www-authenticate"] = REALM;
  sendJson(res, err.status, { error: err.error, error_description: err.message }, headers);
}

export async function handleToken(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const source = `addr:${sourceOf(req)}`;
  let basic = req.headers.authorization !== undefined;
  try {
    const addrWait = ctx.limiter.retryAfter(source);
    if (addrWait > 0) {
      req.resume();
      rateLimited(res, addrWait);
      return;
    }
    if (mediaType(req) !== "application/x-www-form-urlencoded") {
      req.resume();
      throw new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded");
    }
    const form = parseForm(await readBody(req, ctx.maxBodyBytes));
    const grantType = form.get("grant_type");
    if (grantType === undefined || grantType === "") throw new OAuthError("invalid_request", "grant_type is missing: send grant_type=client_credentials");
    const auth = clientAuth(req, form);
    basic = auth?.method === "basic";
    if (auth === null) {
      ctx.limiter.fail(source);
      throw new OAuthError("invalid_client", "client authentication is missing: use HTTP Basic or client_id and client_secret");
    }
    const clientKey = `client:${auth.clientId.slice(0, 320)}`;
    const wait = Math.max(ctx.limiter.retryAfter(clientKey), ctx.limiter.retryAfter(source));
    if (wait > 0) {
      rateLimited(res, wait);
      return;
    }
    const client = authenticate(ctx, auth);
    if (client === null) {
      ctx.limiter.fail(source);
      ctx.limiter.fail(clientKey);
      ctx.log.info({ audit: "client_authentication_failed", clientId: auth.clientId.slice(0, 320), source: sourceOf(req) }, "OAuth 2.0 client authentication failed");
      throw new OAuthError("invalid_client", "client authentication failed");
    }
    if (grantType !== "client_credentials") throw new OAuthError("unsupported_grant_type", `grant_type ${grantType.slice(0, 64)} is not supported: use client_credentials`);
    const scope = form.get("scope");
    if (scope !== undefined && scope.trim() !== "") {
      throw new OAuthError("invalid_scope", "keyward tokens carry no scope: what a token may do is set by the AccessPolicies of its ApiKey; omit scope");
    }
    let issued;
    try {
      issued = await issueForApiKey(ctx, {
        tenant: client.tenant,
        apiKeyName: client.apiKey,
        expiresAt: undefined,
        issuedBy: `oauth2-client ${client.tenant}/${client.apiKey}`,
        via: "oauth2",
        now: new Date(ctx.clock.now()),
      });
    } catch (err) {
      if (err instanceof IssuerError && err.status < 500) throw new OAuthError("invalid_grant", err.message);
      throw err;
    }
    sendJson(res, 200, { access_token: issued.token, token_type: "Bearer", expires_in: issued.expiresAt - issued.issuedAt }, { pragma: "no-cache" });
  } catch (err) {
    if (err instanceof OAuthError) {
      sendOAuthError(res, err, basic);
      return;
    }
    if (err instanceof IssuerError) {
      const error = err.status === 413 ? "invalid_request" : "temporarily_unavailable";
      sendJson(res, err.status, { error, error_description: err.message }, { pragma: "no-cache" });
      return;
    }
    throw err;
  }
}

function rateLimited(res: ServerResponse, seconds: number): void {
  sendJson(res, 429, { error: "temporarily_unavailable", error_description: `too many failed attempts: retry after ${seconds} seconds` }, { "retry-after": String(seconds), pragma: "no-cache" });
}

/** The client's tenant and ApiKey when its credentials are right and client credentials are enabled for it; null otherwise. */
function authenticate(ctx: ServiceContext, auth: ClientAuth): { tenant: string; apiKey: string } | null {
  const id = parseClientId(auth.clientId);
  const apiKey = id === null ? undefined : ctx.cache.apiKeys.get(id.tenant, id.apiKey);
  let stored: string | null = null;
  if (id !== null && apiKey !== undefined && clientCredentialsEnabled(apiKey)) {
    stored = readClientSecretHash(ctx.cache.secrets.get(id.tenant, clientSecretHashSecretName(id.apiKey)), apiKey);
  }
  const matches = clientSecretMatches(auth.clientSecret, stored ?? NO_HASH);
  return matches && stored !== null && id !== null ? id : null;
}
