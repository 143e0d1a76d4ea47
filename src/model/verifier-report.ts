// The verifier report: one coordination.k8s.io/v1 Lease per running verifier, in its tenant's
// namespace, as kubelets keep one node Lease each. The verifier writes it when the bundle
// generation it enforces changes and as a heartbeat (spec.renewTime); the controller and
// `kubectl keyward status` read it. Nothing in it is secret; all of it is the tenant's word.

import { createHash } from "node:crypto";

/** Selects every verifier report (value VERIFIER_REPORT_VERSION). */
export const VERIFIER_REPORT_LABEL = "keyward.dev/verifier-report";
export const VERIFIER_REPORT_VERSION = "v1";
export const VERIFIER_REPORT_SELECTOR = `${VERIFIER_REPORT_LABEL}=${VERIFIER_REPORT_VERSION}`;

export const VerifierReportAnnotations = {
  /** The bundle generation the verifier enforces; absent before its first bundle. */
  generation: "keyward.dev/generation",
  /** RFC 3339: when the verifier began enforcing that generation. */
  enforcedSince: "keyward.dev/enforced-since",
  /** The keyward release of the verifier. */
  version: "keyward.dev/version",
  /** The Pod the verifier runs in (the Lease name may be shortened). */
  pod: "keyward.dev/pod",
} as const;

export const VERIFIER_REPORT_PREFIX = "keyward-verifier.";

/** The Lease name of the verifier in Pod `pod`: a DNS subdomain of at most 253 characters. */
export function verifierReportName(pod: string): string {
  const name = `${VERIFIER_REPORT_PREFIX}${pod}`;
  if (name.length <= 253) return name;
  const digest = createHash("sha256").update(pod).digest("hex").slice(0, 16);
  return `${name.slice(0, 253 - 17).replace(/[.-]+$/, "")}.${digest}`;
}

export interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
  };
}

/** What one verifier says, read from its Lease. */
export interface VerifierReport {
  tenant: string;
  /** The Lease's name. */
  name: string;
  pod: string;
  version: string;
  /** Null before the verifier's first bundle, or when the annotation is not a generation. */
  generation: number | null;
  /** Milliseconds since the epoch; null when absent or unreadable. */
  enforcedSinceMs: number | null;
  /** The last heartbeat (spec.renewTime), in milliseconds; null when absent. */
  renewedMs: number | null;
  /** spec.leaseDurationSeconds in milliseconds: the verifier's own hint of its TTL; null when absent. */
  leaseDurationMs: number | null;
}

/** The report a Lease carries; null when it is not a verifier report. */
export function readVerifierReport(lease: LeaseObject): VerifierReport | null {
  const { metadata } = lease;
  if (metadata.labels?.[VERIFIER_REPORT_LABEL] !== VERIFIER_REPORT_VERSION) return null;
  const a = metadata.annotations ?? {};
  const genText = a[VerifierReportAnnotations.generation];
  const generation = genText !== undefined && /^\d{1,16}$/.test(genText) ? Number(genText) : null;
  return {
    tenant: metadata.namespace ?? "",
    name: metadata.name ?? "",
    pod: a[VerifierReportAnnotations.pod] ?? lease.spec?.holderIdentity ?? metadata.name ?? "",
    version: a[VerifierReportAnnotations.version] ?? "",
    generation: generation !== null && Number.isSafeInteger(generation) ? generation : null,
    enforcedSinceMs: timeOf(a[VerifierReportAnnotations.enforcedSince]),
    renewedMs: timeOf(lease.spec?.renewTime),
    leaseDurationMs: typeof lease.spec?.leaseDurationSeconds === "number" && lease.spec.leaseDurationSeconds > 0 ? lease.spec.leaseDurationSeconds * 1000 : null,
  };
}

function timeOf(text: string | undefined): number | null {
  if (text === undefined) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

/** A Lease time (metav1.MicroTime): RFC 3339 with microseconds, UTC. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}
