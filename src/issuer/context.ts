import type { Clock } from "../kube/clock.ts";
import type { TokenVerifier } from "../token/index.ts";
import type { TenantBundles } from "./bundles.ts";
import type { IssueContext } from "./issue.ts";
import type { FailureLimiter } from "./rate-limit.ts";

/** What every route of the token service works with. */
export interface ServiceContext extends IssueContext {
  bundles: TenantBundles;
  verifier: TokenVerifier;
  clock: Clock;
  /** Failed attempts per source address ("addr:<ip>") and per OAuth client ("client:<id>"). */
  limiter: FailureLimiter;
  maxBodyBytes: number;
  /** The URL clients reach the service at, without a trailing slash (jwks_uri and token_endpoint). */
  publicUrl: string;
}

/** A Kubernetes namespace name (RFC 1123 label). */
export const TENANT = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A Kubernetes object name (RFC 1123 subdomain), as ApiKey names are. */
export const OBJECT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
