// Measured enforcement of revocations. Those an ApiKey's spec asks for (revokeAll,
// revokeIssuedBefore, dropDeposed): requested when the controller acts on the request,
// enforced once every live verifier of the tenant enforces a bundle generation that
// carries the ApiKey's state after it (its keys and its cut-off, as in its signing-key
// Secret). A revoked token's (an AccessToken's or an IssuedToken's): requested when the
// controller first sees it revoked (revokedAt), enforced once every live verifier
// enforces the first generation listing its jti as revoked. With no live verifier,
// enforced at the bundle write that carries it. Pure.

import type { AccessTokenStatus, ApiKeyStatus, IssuedToken, IssuedTokenStatus } from "../../api/types.generated.ts";
import type { ConfigMapObject } from "../../model/bundle/configmap.ts";
import { formatTime } from "../../model/policy/time.ts";
import type { KeyAction, KeyPlan } from "../apikey/plan.ts";
import { bundleOf } from "../controllers/memo.ts";
import { allLiveEnforce, type TenantVerifiers } from "../../model/verifier-sync.ts";

export type ApiKeyRevocation = NonNullable<ApiKeyStatus["revocation"]>;
export type RevocationRequest = ApiKeyRevocation["request"];

/** The revocation a plan's actions carry out (revokeAll wins over the others); null when none. */
export function requestedRevocation(actions: readonly KeyAction[], now: Date): ApiKeyRevocation | null {
  let request: RevocationRequest | null = null;
  for (const a of actions) {
    if (a.type === "drop" && a.cause === "revokeAll") request = "revokeAll";
    else if (a.type === "drop" && a.cause === "dropDeposed" && request !== "revokeAll") request = "dropDeposed";
    else if (a.type === "revokedBefore" && request === null) request = "revokeIssuedBefore";
  }
  return request === null ? null : { request, requestedAt: formatTime(now) };
}

export interface MeasuredRevocation {
  revocation: ApiKeyRevocation;
  /** From requestedAt to enforcedAt. */
  seconds: number;
}

/**
 * The revocation in `status` once it is enforced; null when there is none, it was
 * enforced before, or it is not enforced yet.
 */
export function measureRevocation(
  name: string,
  status: ApiKeyStatus,
  plan: KeyPlan | null,
  bundleConfigMap: ConfigMapObject | undefined,
  view: TenantVerifiers | null,
  now: Date,
  /** Whether status.bundleGeneration was worked out for the bundle `bundleConfigMap` holds (its status part is known). */
  partKnown = false,
): MeasuredRevocation | null {
  const revocation = status.revocation;
  if (revocation === undefined || revocation.enforcedAt !== undefined || plan === null) return null;
  const bundle = bundleOf(bundleConfigMap);
  if (bundle === null) return null;
  // The bundle must carry the ApiKey's state after the request: its keys and its cut-off.
  const kids = (list: readonly string[]): string => [...list].sort().join(",");
  const inBundle = kids(bundle.keys.filter((k) => k.apiKey === name).map((k) => k.kid));
  if (inBundle !== kids(plan.keys.map((k) => k.jwk.kid))) return null;
  if ((bundle.apiKeys[name]?.revokedBefore ?? null) !== plan.document.revokedBefore) return null;
  // The ApiKey's entry may have been published in an earlier generation (status.bundleGeneration),
  // but only a status part worked out for this very bundle says so: before it, the status may still
  // name the generation before the request, which a verifier not yet holding the change enforces.
  const generation = partKnown ? Math.min(status.bundleGeneration ?? bundle.generation, bundle.generation) : bundle.generation;
  if (view !== null && !allLiveEnforce(view, generation)) return null;
  const seconds = Math.max(0, (now.getTime() - Date.parse(revocation.requestedAt)) / 1000);
  return {
    revocation: { ...revocation, generation, enforcedAt: formatTime(now), verifiers: view?.live ?? 0 },
    seconds: Number.isFinite(seconds) ? seconds : 0,
  };
}

export type TokenRevocationEnforced = NonNullable<AccessTokenStatus["revocationEnforced"]>;

/** What a revoked token's status says of its revocation: an AccessToken's and an IssuedToken's alike. */
export interface TokenRevocationStatus {
  /** When the controller first saw the token revoked; undefined while it is not. */
  revokedAt?: string | undefined;
  revocationEnforced?: TokenRevocationEnforced | undefined;
}

/** Whether a revoked token's status still waits for its revocation to be enforced. */
export function awaitsEnforcement(status: TokenRevocationStatus): boolean {
  return status.revokedAt !== undefined && status.revocationEnforced === undefined;
}

/**
 * A revoked token's revocationEnforced once every live verifier enforces `generation`,
 * the first bundle generation listing all its jtis as revoked (null: none lists them yet);
 * null when it was recorded before, the token is not revoked, or it is not enforced yet.
 */
export function measureTokenRevocation(
  status: TokenRevocationStatus,
  generation: number | null,
  view: TenantVerifiers | null,
  now: Date,
): { enforced: TokenRevocationEnforced; seconds: number } | null {
  if (!awaitsEnforcement(status) || generation === null) return null;
  if (view !== null && !allLiveEnforce(view, generation)) return null;
  const seconds = (now.getTime() - Date.parse(status.revokedAt ?? "")) / 1000;
  return { enforced: { generation, at: formatTime(now), verifiers: view?.live ?? 0 }, seconds: Number.isFinite(seconds) ? Math.max(0, seconds) : 0 };
}

/** Where a tenant's revocations stand, asked only when a revocation waits to be enforced. */
export interface EnforcementLookup {
  /** The first bundle generation listing every one of `jtis` as revoked; null when the bundle does not list them all. */
  revokedIn(jtis: readonly string[]): number | null;
  /** The tenant's verifiers; null when reports are not read. */
  view(): TenantVerifiers | null;
}

export interface IssuedTokenStatusPlan {
  /** The status fields the controller owns: revokedAt and revocationEnforced. */
  status: Pick<IssuedTokenStatus, "revokedAt" | "revocationEnforced">;
  /** Seconds from revokedAt to enforcement when this plan records it; else null. */
  enforcedSeconds: number | null;
  /** When to look again although nothing else changes: the next live verifier may age out. */
  recheckAt: Date | null;
}

/**
 * The status of an IssuedToken: revokedAt from the first time it is seen revoked, and
 * revocationEnforced once every live verifier enforces the first bundle generation listing
 * its jti. A record not revoked (or being deleted) keeps what it has.
 */
export function planIssuedTokenStatus(record: IssuedToken, lookup: EnforcementLookup, now: Date): IssuedTokenStatusPlan {
  const previous = record.status ?? {};
  const kept = { revokedAt: previous.revokedAt, revocationEnforced: previous.revocationEnforced };
  if (record.spec.revoked !== true || record.metadata.deletionTimestamp !== undefined) return { status: kept, enforcedSeconds: null, recheckAt: null };
  const status = { ...kept, revokedAt: previous.revokedAt ?? formatTime(now) };
  if (!awaitsEnforcement(status)) return { status, enforcedSeconds: null, recheckAt: null };
  const view = lookup.view();
  const measured = measureTokenRevocation(status, lookup.revokedIn([record.spec.jti]), view, now);
  if (measured !== null) return { status: { ...status, revocationEnforced: measured.enforced }, enforcedSeconds: measured.seconds, recheckAt: null };
  return { status, enforcedSeconds: null, recheckAt: view?.nextExpiryMs == null ? null : new Date(view.nextExpiryMs) };
}
