// Discovery for third-party verifiers, per tenant:
//   GET /{tenant}/.well-known/openid-configuration
//   GET /{tenant}/.well-known/jwks.json   (exactly the bundle's jwks.json)
//
// `issuer` is the controller's configured issuer, the `iss` of every token (it
// is one value for all tenants); the tenant is the token's `aud`. A verifier
// therefore checks iss = issuer and aud = tenant, and fetches keys from the
// tenant's jwks_uri, which holds only that tenant's keys.

import type { ServerResponse } from "node:http";
import { ALGORITHMS } from "../token/index.ts";
import type { ServiceContext } from "./context.ts";
import { sendJson } from "./http.ts";

export const DISCOVERY_PATH = /^\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/\.well-known\/(openid-configuration|jwks\.json)$/;
/** Below the default prePublish (5m): a verifier sees a new key before it signs. */
export const DISCOVERY_MAX_AGE_SECONDS = 60;

export function discoveryDocument(ctx: Pick<ServiceContext, "issuer" | "publicUrl">, tenant: string): Record<string, unknown> {
  return {
    issuer: ctx.issuer,
    jwks_uri: `${ctx.publicUrl}/${tenant}/.well-known/jwks.json`,
    token_endpoint: `${ctx.publicUrl}/oauth2/token`,
    grant_types_supported: ["client_credentials"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    response_types_supported: ["token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [...ALGORITHMS],
    access_token_signing_alg_values_supported: [...ALGORITHMS],
    audience: tenant,
  };
}

export function handleDiscovery(ctx: ServiceContext, res: ServerResponse, tenant: string, document: string, head: boolean): void {
  const jwks = ctx.bundles.jwks(tenant);
  if (jwks === null) {
    sendJson(res, 404, { error: "ERR_NOT_FOUND", message: `tenant ${tenant} has no bundle` });
    return;
  }
  const cache = { "cache-control": `public, max-age=${DISCOVERY_MAX_AGE_SECONDS}` };
  if (document === "jwks.json") {
    res.writeHead(200, { "content-type": "application/jwk-set+json", "content-length": String(Buffer.byteLength(jwks)), "x-content-type-options": "nosniff", ...cache });
    res.end(head ? undefined : jwks);
    return;
  }
  const text = JSON.stringify(discoveryDocument(ctx, tenant));
  res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), "x-content-type-options": "nosniff", ...cache });
  res.end(head ? undefined : text);
}
