// IssuedToken records for tests: one ApiKey "reporting" in tenant "acme".
import type { ApiKey, IssuedToken } from "../../../src/api/types.generated.ts";
import { API_VERSION } from "../../../src/api/types.generated.ts";
import { issuedTokenObject } from "../../../src/model/issued-token.ts";

export const apiKey: ApiKey = { apiVersion: API_VERSION, kind: "ApiKey", metadata: { name: "reporting", namespace: "acme", uid: "u-1" } };

/** Seconds since the epoch of an RFC 3339 time. */
export const at = (iso: string): number => Date.parse(iso) / 1000;

/** The record of token `jti`, issued 2026-11-29T11:00:00Z, expiring at 13:00 unless told otherwise. */
export function record(jti: string, opts: { exp?: string | null; revoked?: boolean; apiKeyName?: string } = {}): IssuedToken {
  const r = issuedTokenObject({
    apiKey: { ...apiKey, metadata: { ...apiKey.metadata, name: opts.apiKeyName ?? "reporting" } },
    jti,
    kid: "kid-1",
    issuedAt: at("2026-11-29T11:00:00Z"),
    expiresAt: opts.exp === null ? null : at(opts.exp ?? "2026-11-29T13:00:00Z"),
    issuedBy: "ApiKey acme/workflow",
  });
  r.spec.revoked = opts.revoked ?? false;
  r.metadata.uid = `uid-${jti}`;
  return r;
}
