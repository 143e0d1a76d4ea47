// The verifier table of `kubectl keyward status`, after `istioctl proxy-status`: one line per
// verifier that reports (its Lease in the tenant's namespace) with the bundle generation it
// enforces, SYNCED, STALE or DEAD against the tenant's bundle, how long it has been behind,
// its release and its last heartbeat. DEAD: no heartbeat for the Lease's own
// leaseDurationSeconds (three report intervals); the controller uses its --verifier-ttl.

import { Resources, type KubeClient } from "../../kube/index.ts";
import { readVerifierReport, VERIFIER_REPORT_SELECTOR, type LeaseObject, type VerifierReport } from "../../model/verifier-report.ts";
import { aggregateVerifiers, type TenantVerifiers } from "../../model/verifier-sync.ts";
import { explain } from "../errors.ts";
import { NONE, table } from "../format.ts";

/** A bundle's generation and when it was generated (ms), as the verifiers are compared with. */
export interface CurrentBundle {
  generation: number;
  generatedAtMs: number;
}

export type VerifierListing = { state: "listed"; view: TenantVerifiers } | { state: "forbidden" };

/** The verifiers of `namespace`; forbidden when the caller may not list Leases there. */
export async function listVerifiers(client: KubeClient, namespace: string, current: CurrentBundle | null, nowMs: number): Promise<VerifierListing> {
  let leases: LeaseObject[];
  try {
    leases = (await client.listAll<LeaseObject & { metadata: { name?: string } }>(Resources.leases, { namespace, labelSelector: VERIFIER_REPORT_SELECTOR })).items;
  } catch (err) {
    const e = explain(err, { kind: "lease", resource: "leases.coordination.k8s.io", namespace, verb: "list", permissionHint: "Listing the verifiers needs list on leases.coordination.k8s.io in the namespace." });
    if (e.code !== "ERR_PLUGIN_FORBIDDEN") throw e;
    return { state: "forbidden" };
  }
  const reports = leases.map(readVerifierReport).filter((r): r is VerifierReport => r !== null);
  const view = aggregateVerifiers({
    tenant: namespace,
    reports,
    current: current === null ? null : { generation: current.generation, sinceMs: current.generatedAtMs },
    nowMs,
    ttlMs: null,
  });
  return { state: "listed", view };
}

/** "4s", "2m5s", "3h" : how long, for people. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 === 0 ? "" : `${s % 60}s`}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) === 0 ? "" : `${Math.floor((s % 3600) / 60)}m`}`;
}

/** The verifier table of the namespaces listed (in order); "" when no verifier reports. */
export function formatVerifiers(listings: ReadonlyMap<string, VerifierListing>, allNamespaces: boolean, nowMs: number): string {
  const headers = ["POD", "GENERATION", "SYNC", "BEHIND", "VERSION", "HEARTBEAT"];
  const rows: string[][] = [];
  for (const [namespace, listing] of [...listings].sort(([a], [b]) => a.localeCompare(b))) {
    if (listing.state === "forbidden") {
      rows.push(withNamespace(namespace, ["forbidden", "", "", "", "", ""], allNamespaces));
      continue;
    }
    for (const r of listing.view.rows) {
      const row = [
        r.pod,
        r.generation === null ? NONE : String(r.generation),
        r.sync,
        r.behindMs === null ? "" : formatAge(r.behindMs),
        r.version,
        r.renewedMs === null ? "" : `${formatAge(nowMs - r.renewedMs)} ago`,
      ];
      rows.push(withNamespace(namespace, row, allNamespaces));
    }
  }
  if (rows.length === 0) return "";
  return table(allNamespaces ? ["NAMESPACE", ...headers] : headers, rows);
}

function withNamespace(namespace: string, row: string[], allNamespaces: boolean): string[] {
  return allNamespaces ? [namespace, ...row] : row;
}
