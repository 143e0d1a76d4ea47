// kubectl keyward status [-n NS | -A]: one line per ApiKey with its keys and their states, the
// active kid, the next rotation, and the generation and size of its namespace's bundle
// ConfigMap keyward-bundle; then one line per verifier that reports (verifiers.ts).

import type { ApiKey } from "../../api/index.ts";
import { Resources, type KubeObject } from "../../kube/index.ts";
import type { Invocation } from "../args.ts";
import { explain, Hints } from "../errors.ts";
import { formatBytes, NONE, shortKid, table } from "../format.ts";
import type { CommandContext } from "./context.ts";
import { formatVerifiers, listVerifiers, type CurrentBundle, type VerifierListing } from "./verifiers.ts";
import { BUNDLE_CONFIGMAP_NAME as BUNDLE_CONFIGMAP, BUNDLE_DATA_KEY as BUNDLE_KEY, CONFIGMAP_LIMIT_BYTES } from "../../model/names.ts";

export type StatusInvocation = Extract<Invocation, { command: "status" }>;

export { BUNDLE_CONFIGMAP, BUNDLE_KEY, CONFIGMAP_LIMIT_BYTES };

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export type BundleInfo =
  | { state: "present"; generation: number | null; bytes: number; generatedAtMs: number | null; /** Revocation segments the head names. */ segments: number }
  | { state: "missing" }
  | { state: "forbidden" };

const STATE_ORDER: Record<string, number> = { prepared: 0, active: 1, deposed: 2 };

/** Generation (null when bundle.json is unreadable) and size of a bundle ConfigMap. */
export function bundleInfo(cm: ConfigMap): BundleInfo {
  let bytes = 0;
  for (const [k, v] of Object.entries(cm.data ?? {})) bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) bytes += Buffer.byteLength(k) + Buffer.from(v, "base64").length;
  let generation: number | null = null;
  let generatedAtMs: number | null = null;
  let segments = 0;
  const text = cm.data?.[BUNDLE_KEY];
  if (text !== undefined) {
    try {
      const parsed = JSON.parse(text) as { generation?: unknown; generatedAt?: unknown; revokedSegments?: unknown };
      if (Array.isArray(parsed.revokedSegments)) segments = parsed.revokedSegments.length;
      const g = parsed.generation;
      if (typeof g === "number" && Number.isSafeInteger(g) && g >= 0) generation = g;
      const at = typeof parsed.generatedAt === "string" ? Date.parse(parsed.generatedAt) : NaN;
      if (Number.isFinite(at)) generatedAtMs = at;
    } catch {
      // unreadable: shown as such
    }
  }
  return { state: "present", generation, bytes, generatedAtMs, segments };
}

function currentBundle(info: BundleInfo): CurrentBundle | null {
  if (info.state !== "present" || info.generation === null) return null;
  return { generation: info.generation, generatedAtMs: info.generatedAtMs ?? 0 };
}

function bundleCells(info: BundleInfo | undefined): [string, string] {
  if (info === undefined || info.state === "missing") return [NONE, NONE];
  if (info.state === "forbidden") return ["forbidden", "forbidden"];
  const pct = Math.round((info.bytes / CONFIGMAP_LIMIT_BYTES) * 100);
  const segments = info.segments === 0 ? "" : ` +${info.segments} revocation segment${info.segments === 1 ? "" : "s"}`;
  return [info.generation === null ? "unreadable" : String(info.generation), `${formatBytes(info.bytes)} (${pct}%)${segments}`];
}

/** The status table. `bundles` is keyed by namespace. */
export function formatStatus(apiKeys: readonly ApiKey[], bundles: ReadonlyMap<string, BundleInfo>, allNamespaces: boolean): string {
  const sorted = [...apiKeys].sort(
    (a, b) => (a.metadata.namespace ?? "").localeCompare(b.metadata.namespace ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""),
  );
  const headers = ["APIKEY", "READY", "SUSPENDED", "KEYS", "ACTIVE KID", "NEXT ROTATION", "BUNDLE GEN", "BUNDLE SIZE"];
  const rows = sorted.map((k) => {
    const keys = [...(k.status?.keys ?? [])]
      .sort((a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9))
      .map((key) => `${key.state}:${shortKid(key.kid)}`)
      .join(",");
    const ready = k.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "";
    const row = [
      k.metadata.name ?? "",
      ready,
      k.spec?.suspended === true ? "true" : "false",
      keys,
      k.status?.activeKid ?? "",
      k.status?.nextRotationTime ?? "",
      ...bundleCells(bundles.get(k.metadata.namespace ?? "")),
    ];
    return allNamespaces ? [k.metadata.namespace ?? "", ...row] : row;
  });
  return table(allNamespaces ? ["NAMESPACE", ...headers] : headers, rows);
}

export async function runStatus(inv: StatusInvocation, ctx: CommandContext): Promise<number> {
  const { client, namespace } = ctx.connect(inv.common);
  const listNamespace = inv.allNamespaces ? undefined : namespace;
  let apiKeys: ApiKey[];
  try {
    apiKeys = (await client.listAll<ApiKey>(Resources.apiKeys, { namespace: listNamespace })).items;
  } catch (err) {
    throw explain(err, { kind: "apikey", resource: "apikeys", namespace: listNamespace, verb: "list", permissionHint: Hints.readKeys });
  }
  if (apiKeys.length === 0) {
    ctx.io.stderr.write(inv.allNamespaces ? "No ApiKeys found in any namespace.\n" : `No ApiKeys found in namespace ${namespace}.\n`);
    return 0;
  }
  const bundles = new Map<string, BundleInfo>();
  for (const ns of new Set(apiKeys.map((k) => k.metadata.namespace ?? ""))) {
    try {
      const cm = await client.find<ConfigMap>(Resources.configMaps, { name: BUNDLE_CONFIGMAP, namespace: ns });
      bundles.set(ns, cm === undefined ? { state: "missing" } : bundleInfo(cm));
    } catch (err) {
      const e = explain(err, { kind: "configmap", resource: "configmaps", name: BUNDLE_CONFIGMAP, namespace: ns, verb: "get", permissionHint: Hints.readBundle });
      if (e.code !== "ERR_PLUGIN_FORBIDDEN") throw e;
      bundles.set(ns, { state: "forbidden" });
    }
  }
  ctx.io.stdout.write(formatStatus(apiKeys, bundles, inv.allNamespaces));
  const nowMs = ctx.now();
  const verifiers = new Map<string, VerifierListing>();
  for (const [ns, info] of bundles) verifiers.set(ns, await listVerifiers(client, ns, currentBundle(info), nowMs));
  const listed = formatVerifiers(verifiers, inv.allNamespaces, nowMs);
  if (listed !== "") ctx.io.stdout.write(`\nVerifiers:\n${listed}`);
  return 0;
}
