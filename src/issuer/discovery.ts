// OpenID Connect discovery for third-party verifiers, per tenant. The tenant's
// issuer is `{issuer}/{tenant}` (tenantIssuer), the `iss` of its tokens, so the
// documents live under it and strict discovery (OpenID Connect Discovery 1.0
// §4: the document's `issuer` equals the URL it was fetched under) holds:
//   GET /{tenant}/.well-known/openid-configuration
//   GET /{tenant}/.well-known/jwks.json   (exactly the bundle's jwks.json)
// The keys are the tenant's only; the algorithms listed are those its keys use.

import type { ServerResponse } from "node:http";
import { ALGORITHMS, tenantIssuer, type Algorithm } from "../token/index.ts";
import type { ServiceContext } from "./context.ts";
import { sendJson } from "./http.ts";

export const DISCOVERY_PATH = /^\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/\.well-known\/(openid-configuration|jwks\.json)$/;
/** Below the default prePublish (5m): a verifier sees a new key before it signs. */
export const DISCOVERY_MAX_AGE_SECONDS = 60;

/** The algorithms of the keys in a JWK Set text, in the order of ALGORITHMS; [] when it holds none or is not a JWK Set. */
export function algorithmsOf(jwks: string): Algorithm[] {
  let keys: unknown;
  try {
    keys = (JSON.parse(jwks) as { keys?: unknown }).keys;
  } catch {
    return [];
  }
  if (!Array.isArray(keys)) return [];
  const used = new Set(keys.map((k: unknown) => (typeof k === "object" && k !== null ? (k as { alg?: unknown }).alg : undefined)));
  return ALGORITHMS.filter((alg) => used.has(alg));
}

export function discoveryDocument(ctx: Pick<ServiceContext, "issuer" | "publicUrl">, tenant: string, algorithms: readonly Algorithm[]): Record<string, unknown> {
  return {
    issuer: tenantIssuer(ctx.issuer, tenant),
    jwks_uri: `${ctx.publicUrl}/${tenant}/.well-known/jwks.json`,
    token_endpoint: `${ctx.publicUrl}/oauth2/token`,
    grant_types_supported: ["client_credentials"],
    token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    response_types_supported: ["token"],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [...algorithms],
    access_token_signing_alg_values_supported: [...algorithms],
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
  const text = JSON.stringify(discoveryDocument(ctx, tenant, algorithmsOf(jwks)));
  res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), "x-content-type-options": "nosniff", ...cache });
  res.end(head ? undefined : text);
}
