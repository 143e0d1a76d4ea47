// What an AccessToken asks for, checked against its ApiKey's rotation policy: the
// lifetime of its tokens (or none) and how long before expiry to renew them.

import type { AccessToken } from "../../api/types.generated.ts";
import { formatDuration, parseDuration } from "../../api/duration.ts";
import { describeSource } from "../../model/policy/resolve.ts";
import type { ResolvedRotationPolicy } from "../../model/policy/types.ts";

export const MIN_TOKEN_LIFETIME_MS = 60_000;

export interface TokenTerms {
  /** Whole seconds; null for a token without exp. */
  lifetimeSeconds: number | null;
  /** How long before exp the next token is issued; null for a token without exp. */
  renewBeforeMs: number | null;
}

export type TokenSpecCheck =
  | ({ ok: true } & TokenTerms)
  | { ok: false; reason: "InvalidSpec" | "LifetimeExceedsPolicy" | "NeverExpiresNotAllowed"; field: string; message: string };

function duration(text: string): number | null {
  try {
    return parseDuration(text);
  } catch {
    return null;
  }
}

/** The terms of the tokens the AccessToken asks for, or the field that cannot be honoured and how to fix it. */
export function checkTokenSpec(accessToken: AccessToken, policy: ResolvedRotationPolicy): TokenSpecCheck {
  const { spec } = accessToken;
  const who = `AccessToken ${accessToken.metadata.namespace ?? ""}/${accessToken.metadata.name ?? ""}`;
  const policyName = describeSource(policy.source);
  const invalid = (field: string, message: string): TokenSpecCheck => ({ ok: false, reason: "InvalidSpec", field, message: `${who}: ${message}` });

  if (spec.neverExpires === true) {
    if (spec.lifetime !== undefined) {
      return invalid("spec.lifetime", "spec.lifetime and spec.neverExpires exclude each other: remove lifetime, or set neverExpires to false");
    }
    if (!policy.allowNeverExpires) {
      return {
        ok: false,
        reason: "NeverExpiresNotAllowed",
        field: "spec.neverExpires",
        message:
          `${who}: spec.neverExpires is true but ${policyName} does not allow tokens without expiry: ` +
          `set spec.lifetime instead (at most ${formatDuration(policy.maxTokenLifetimeMs)}), or set allowNeverExpires: true in the policy`,
      };
    }
    return { ok: true, lifetimeSeconds: null, renewBeforeMs: null };
  }

  let lifetimeMs = policy.defaultTokenLifetimeMs;
  if (spec.lifetime !== undefined) {
    const parsed = duration(spec.lifetime);
    if (parsed === null) {
      return invalid("spec.lifetime", `spec.lifetime "${spec.lifetime}" is not a duration: write hours, minutes and seconds such as "24h" or "168h"`);
    }
    if (parsed < MIN_TOKEN_LIFETIME_MS) return invalid("spec.lifetime", `spec.lifetime (${spec.lifetime}) must be at least 1m`);
    if (parsed > policy.maxTokenLifetimeMs) {
      return {
        ok: false,
        reason: "LifetimeExceedsPolicy",
        field: "spec.lifetime",
        message:
          `${who}: spec.lifetime (${spec.lifetime}) is longer than the maxTokenLifetime of ${policyName} (${formatDuration(policy.maxTokenLifetimeMs)}): ` +
          `shorten spec.lifetime, or raise maxTokenLifetime in the policy`,
      };
    }
    lifetimeMs = parsed;
  }
  const lifetimeSeconds = Math.floor(lifetimeMs / 1000);

  let renewBeforeMs = Math.floor((lifetimeSeconds * 1000) / 3);
  if (spec.renewBefore !== undefined) {
    const parsed = duration(spec.renewBefore);
    if (parsed === null) {
      return invalid("spec.renewBefore", `spec.renewBefore "${spec.renewBefore}" is not a duration: write hours, minutes and seconds such as "8h"`);
    }
    if (parsed <= 0 || parsed >= lifetimeSeconds * 1000) {
      return invalid(
        "spec.renewBefore",
        `spec.renewBefore (${spec.renewBefore}) must be longer than 0s and shorter than the lifetime (${formatDuration(lifetimeSeconds * 1000)}): shorten renewBefore or lengthen the lifetime`,
      );
    }
    renewBeforeMs = parsed;
  }
  return { ok: true, lifetimeSeconds, renewBeforeMs };
}
