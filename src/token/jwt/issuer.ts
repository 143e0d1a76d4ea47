// Which `iss` a token carries (docs/token-format.md "Issuers").
//
// v2 (written by default): the tenant's issuer, `{issuer}/{tenant}`, under which
// strict OpenID Connect discovery works. v1: the configured issuer itself, one
// value for every tenant. A bundle names the configured issuer and the tenant,
// so both forms follow from it; verifiers accept v1 tokens for a window after
// their `iat` (the shared-issuer window) while tokens move to v2.

/** "tenant": `iss` is `{issuer}/{tenant}` (v2); "shared": `iss` is the issuer itself (v1). */
export type IssuerForm = "tenant" | "shared";
export const ISSUER_FORMS: readonly IssuerForm[] = ["tenant", "shared"];
export const DEFAULT_ISSUER_FORM: IssuerForm = "tenant";

/** How long after its `iat` a token with the shared (v1) `iss` is still accepted, by default: 30 days. */
export const DEFAULT_SHARED_ISSUER_WINDOW_SECONDS = 30 * 86_400;
/** The longest shared-issuer window a verifier accepts: 10 years. */
export const MAX_SHARED_ISSUER_WINDOW_SECONDS = 3650 * 86_400;

/** The tenant's issuer: the configured issuer without trailing slashes, then `/` and the tenant. */
export function tenantIssuer(issuer: string, tenant: string): string {
  return `${issuer.replace(/\/+$/, "")}/${tenant}`;
}

/** The `iss` of a token issued for `tenant` in the given form. */
export function tokenIssuer(issuer: string, tenant: string, form: IssuerForm): string {
  return form === "tenant" ? tenantIssuer(issuer, tenant) : issuer;
}
