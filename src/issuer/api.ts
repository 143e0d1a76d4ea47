// POST /api/v0/admin/api-keys/{apiKey}/tokens: the issuer API.
//
// The caller's bearer token goes through every check of the verifier against
// the bundle of the tenant named by X-Keyward-Tenant, with this very method and
// path: an "API token issuer" is an ApiKey whose AccessPolicy allows this POST.

import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerErrorFor, bearerToken } from "../token/index.ts";
import { OBJECT_NAME, TENANT, type ServiceContext } from "./context.ts";
import { IssuerError } from "./errors.ts";
import { mediaType, pathOf, readBody, sendJson, sourceOf } from "./http.ts";
import { issueForApiKey } from "./issue.ts";

export const ISSUER_PATH = /^\/api\/v0\/admin\/api-keys\/([^/]+)\/tokens$/;
export const TENANT_HEADER = "x-keyward-tenant";

function sendIssuerError(res: ServerResponse, err: IssuerError, headers: Record<string, string> = {}): void {
  sendJson(res, err.status, { error: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) }, headers);
}

function parseBody(body: Buffer): string | undefined {
  if (body.length === 0) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new IssuerError("ERR_REQUEST_BODY", `the body is not JSON: send {"expires-at": "<RFC 3339>"} or an empty object`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new IssuerError("ERR_REQUEST_BODY", `the body must be a JSON object such as {"expires-at": "2026-12-01T12:00:00Z"}`);
  }
  const unknown = Object.keys(parsed).filter((k) => k !== "expires-at");
  if (unknown.length > 0) {
    throw new IssuerError("ERR_REQUEST_BODY", `unknown field ${JSON.stringify(unknown[0]?.slice(0, 64))}: the body takes only "expires-at"`, unknown[0]?.slice(0, 64));
  }
  const value = (parsed as Record<string, unknown>)["expires-at"];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new IssuerError("ERR_EXPIRES_AT", `expires-at must be an RFC 3339 string such as "2026-12-01T12:00:00Z"`, "expires-at");
  return value;
}

export async function handleIssue(ctx: ServiceContext, req: IncomingMessage, res: ServerResponse, apiKeySegment: string): Promise<void> {
  const source = `addr:${sourceOf(req)}`;
  const wait = ctx.limiter.retryAfter(source);
  if (wait > 0) {
    req.resume();
    sendIssuerError(res, new IssuerError("ERR_RATE_LIMITED", `too many failed attempts from this address: retry after ${wait} seconds`), { "retry-after": String(wait) });
    return;
  }
  const body = await readBody(req, ctx.maxBodyBytes);
  const tenantHeader = req.headers[TENANT_HEADER];
  const tenant = typeof tenantHeader === "string" ? tenantHeader.trim() : "";
  if (!TENANT.test(tenant)) {
    throw new IssuerError("ERR_TENANT_HEADER", "the X-Keyward-Tenant header must name the tenant (a namespace) the caller's ApiKey belongs to");
  }
  const fail401 = (code: string, message: string): void => {
    ctx.limiter.fail(source);
    sendJson(res, 401, { error: code, message }, { "www-authenticate": `Bearer error="invalid_token"` });
  };
  const bundle = ctx.bundles.compiled(tenant);
  if (bundle === null) {
    fail401("ERR_TENANT_UNKNOWN", `tenant ${tenant} has no usable bundle: check X-Keyward-Tenant`);
    return;
  }
  const path = pathOf(req);
  const now = ctx.clock.now();
  const result = ctx.verifier.verify(bearerToken(req.headers.authorization), { method: "POST", path }, bundle, now);
  if (!result.ok) {
    const { error, context } = result;
    ctx.log.info({ audit: "issuer_denied", tenant, code: error.code, kid: context.kid, apiKey: context.apiKey, jti: context.jti, source: sourceOf(req) }, "issuer API request refused");
    if (error.status === 401) {
      fail401(error.code, error.message);
      return;
    }
    sendJson(res, error.status, { error: error.code, message: error.message }, { "www-authenticate": `Bearer error="${bearerErrorFor(error.status)}"` });
    return;
  }
  if (!OBJECT_NAME.test(apiKeySegment) || apiKeySegment.length > 253) {
    throw new IssuerError("ERR_API_KEY_NOT_FOUND", `"${apiKeySegment.slice(0, 64)}" is not an ApiKey name`);
  }
  const mt = mediaType(req);
  if (body.length > 0 && mt !== "application/json") {
    throw new IssuerError("ERR_UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
  }
  const expiresAt = parseBody(body);
  const caller = result.identity;
  const issued = await issueForApiKey(ctx, {
    tenant,
    apiKeyName: apiKeySegment,
    expiresAt,
    issuedBy: `ApiKey ${tenant}/${caller.apiKey}`,
    via: "issuer-api",
    now: new Date(now),
  });
  sendJson(res, 201, {
    access_token: issued.token,
    token_type: "Bearer",
    expires_at: new Date(issued.expiresAt * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    jti: issued.jti,
  });
}

export { sendIssuerError };
