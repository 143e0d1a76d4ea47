// The controller's view of each tenant's verifiers: their report Leases (a cache over the
// label keyward.dev/verifier-report), the tenant's bundle generation and since when it is
// current, and the first generation each signing key appeared in. Read-only: the verifiers
// write their Leases, the controller never does (a Pod's Lease goes with the Pod, its owner).

import type { Clock } from "../../kube/clock.ts";
import type { ConfigMapObject } from "../../model/bundle/configmap.ts";
import { BUNDLE_CONFIGMAP_NAME } from "../../model/names.ts";
import { readVerifierReport, type LeaseObject, type VerifierReport } from "../../model/verifier-report.ts";
import type { Bundle } from "../../token/index.ts";
import { publishedBundle, type PublishedBundle } from "../controllers/memo.ts";
import type { Store } from "../controllers/store.ts";
import { aggregateVerifiers, type TenantVerifiers } from "../../model/verifier-sync.ts";

/** Default TTL: three missed heartbeats of the verifier's default --report-interval (60s). */
export const DEFAULT_VERIFIER_TTL_MS = 180_000;

interface TenantLedger {
  generation: number;
  sinceMs: number;
  /** kid → the first generation seen holding it. */
  keys: Map<string, number>;
  /** jti on the head's revocation list → the first generation seen listing it. */
  revoked: Map<string, number>;
  /** The revocation segments of the generation, read. */
  segments: readonly LedgerSegment[];
  /** A segment's SHA-256 → the first generation seen naming it (its revocations are listed since). */
  segmentsSeen: Map<string, number>;
  /** Whether every revocation segment of the generation was read (else it is read again when a slot changes). */
  complete: boolean;
}

type LedgerSegment = PublishedBundle["segments"][number];

export class VerifierViews {
  readonly #leases: Store<LeaseObject>;
  readonly #configMaps: Store<ConfigMapObject>;
  readonly #segments: Store<ConfigMapObject>;
  readonly #clock: Clock;
  readonly ttlMs: number;
  readonly #ledgers = new Map<string, TenantLedger>();
  readonly #reports = new WeakMap<LeaseObject, VerifierReport | null>();

  constructor(opts: { leases: Store<LeaseObject>; configMaps: Store<ConfigMapObject>; bundleSegments: Store<ConfigMapObject>; clock: Clock; ttlMs: number }) {
    this.#leases = opts.leases;
    this.#configMaps = opts.configMaps;
    this.#segments = opts.bundleSegments;
    this.#clock = opts.clock;
    this.ttlMs = opts.ttlMs;
    for (const informer of opts.configMaps.informers) {
      informer.addHandlers({
        add: (cm) => { this.#saw(cm); },
        update: (_old, cm) => { this.#saw(cm); },
        delete: (cm) => { this.#ledgers.delete(cm.metadata.namespace ?? ""); },
      });
    }
    // A segment slot arriving after its head completes the generation's revocations.
    const slotChanged = (slot: ConfigMapObject): void => {
      const cm = this.#configMaps.get(slot.metadata.namespace ?? "", BUNDLE_CONFIGMAP_NAME);
      if (cm !== undefined) this.#saw(cm);
    };
    for (const informer of opts.bundleSegments.informers) informer.addHandlers({ add: slotChanged, update: (_old, slot) => { slotChanged(slot); } });
  }

  /** The report Leases' cache. */
  get leases(): Store<LeaseObject> {
    return this.#leases;
  }

  /** The verifiers of `tenant`, now. */
  view(tenant: string): TenantVerifiers {
    const ledger = this.#ledger(tenant);
    const reports: VerifierReport[] = [];
    for (const lease of this.#leases.list(tenant)) {
      const report = this.#report(lease);
      if (report !== null) reports.push(report);
    }
    return aggregateVerifiers({
      tenant,
      reports,
      current: ledger === null ? null : { generation: ledger.generation, sinceMs: ledger.sinceMs },
      nowMs: this.#clock.now(),
      ttlMs: this.ttlMs,
    });
  }

  /** Every tenant with a report Lease. */
  tenants(): string[] {
    return this.#leases.namespaces();
  }

  /** The first bundle generation seen holding key `kid` of `tenant`; null when its bundle does not hold it. */
  holding(tenant: string, kid: string): number | null {
    return this.#ledger(tenant)?.keys.get(kid) ?? null;
  }

  /** The first bundle generation seen listing every one of `jtis` as revoked; null when the bundle does not list them all. */
  revokedIn(tenant: string, jtis: readonly string[]): number | null {
    const ledger = this.#ledger(tenant);
    if (ledger === null) return null;
    let generation = 0;
    for (const jti of jtis) {
      const g = ledger.revoked.get(jti) ?? segmentListing(ledger, jti);
      if (g === undefined) return null;
      generation = Math.max(generation, g);
    }
    return generation;
  }

  #report(lease: LeaseObject): VerifierReport | null {
    if (this.#reports.has(lease)) return this.#reports.get(lease) ?? null;
    const report = readVerifierReport(lease);
    this.#reports.set(lease, report);
    return report;
  }

  #ledger(tenant: string): TenantLedger | null {
    const cm = this.#configMaps.get(tenant, BUNDLE_CONFIGMAP_NAME);
    if (cm === undefined) return null;
    return this.#saw(cm);
  }

  /** Brings the tenant's ledger up to the bundle `cm` holds. */
  #saw(cm: ConfigMapObject): TenantLedger | null {
    const tenant = cm.metadata.namespace ?? "";
    const read = publishedBundle({ configMaps: this.#configMaps, bundleSegments: this.#segments }, tenant);
    if (read === null) return this.#ledgers.get(tenant) ?? null;
    const { bundle, complete, segments } = read;
    const ledger = this.#ledgers.get(tenant);
    if (ledger !== undefined && ledger.generation === bundle.generation && (ledger.complete || !complete)) return ledger;
    const next = nextLedger(ledger, bundle, this.#clock.now(), complete, segments);
    this.#ledgers.set(tenant, next);
    return next;
  }
}

/** The ledger after the bundle of a new generation: keys it holds keep the generation they were first seen in. */
export function nextLedger(before: TenantLedger | undefined, bundle: Bundle, nowMs: number, complete = true, segments: readonly LedgerSegment[] = []): TenantLedger {
  const keys = new Map<string, number>();
  for (const k of bundle.keys) keys.set(k.kid, before?.keys.get(k.kid) ?? bundle.generation);
  const revoked = new Map<string, number>();
  for (const r of bundle.revoked) revoked.set(r.jti, before?.revoked.get(r.jti) ?? bundle.generation);
  // A segment keeps the generation it was first named in; its revocations are not copied one by one.
  const segmentsSeen = new Map<string, number>();
  for (const seg of segments) segmentsSeen.set(seg.ref.sha256, before?.segmentsSeen.get(seg.ref.sha256) ?? bundle.generation);
  // Behind since the bundle was generated (it says when); the time it was first seen if it cannot be read.
  const generatedAt = Date.parse(bundle.generatedAt);
  const sinceMs = before?.generation === bundle.generation ? before.sinceMs : Number.isFinite(generatedAt) ? Math.min(generatedAt, nowMs) : nowMs;
  return { generation: bundle.generation, sinceMs, keys, revoked, segments, segmentsSeen, complete };
}

/** The first generation seen naming a segment that lists `jti`; undefined when none does. */
function segmentListing(ledger: TenantLedger, jti: string): number | undefined {
  for (const seg of ledger.segments) if (seg.read.jtis.has(jti)) return ledger.segmentsSeen.get(seg.ref.sha256);
  return undefined;
}
