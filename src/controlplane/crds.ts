import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { KubeApiError, kubeJson, kubeRequest, loadKubeConfig } from "./kubeclient.ts";

export interface InstalledCrd {
  name: string;
  group: string;
  kind: string;
  plural: string;
  scope: "Namespaced" | "Cluster";
  /** The versions the server serves. */
  versions: string[];
  file: string;
}

interface CrdDocument {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
  spec?: {
    group?: unknown;
    scope?: unknown;
    names?: { kind?: unknown; plural?: unknown };
    versions?: { name?: unknown; served?: unknown }[];
  };
}

interface CrdStatus {
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

export interface InstallCrdsOptions {
  /** Deadline for every CRD to be Established and served (default 60 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
  /** The server-side apply field manager (default "keyward-controlplane"). */
  fieldManager?: string;
}

function readCrds(dir: string): { doc: CrdDocument; crd: InstalledCrd }[] {
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const out: { doc: CrdDocument; crd: InstalledCrd }[] = [];
  for (const f of files) {
    const file = join(dir, f);
    for (const parsed of parseAllDocuments(readFileSync(file, "utf8"))) {
      if (parsed.errors.length > 0) throw new Error(`${file}: not valid YAML: ${parsed.errors[0]?.message ?? ""}`);
      const doc = parsed.toJS() as CrdDocument | null;
      if (doc === null) continue;
      if (doc.apiVersion !== "apiextensions.k8s.io/v1" || doc.kind !== "CustomResourceDefinition") {
        throw new Error(
          `${file}: holds a ${String(doc.kind)} (${String(doc.apiVersion)}); the CRD directory may hold only apiextensions.k8s.io/v1 CustomResourceDefinitions`,
        );
      }
      const { metadata, spec } = doc;
      const name = metadata?.name;
      const group = spec?.group;
      const kind = spec?.names?.kind;
      const plural = spec?.names?.plural;
      const scope = spec?.scope;
      if (typeof name !== "string" || typeof group !== "string" || typeof kind !== "string" || typeof plural !== "string" || (scope !== "Namespaced" && scope !== "Cluster")) {
        throw new Error(`${file}: a CustomResourceDefinition needs metadata.name, spec.group, spec.names.kind, spec.names.plural and spec.scope`);
      }
      const versions = (spec?.versions ?? []).filter((v) => v.served === true).map((v) => String(v.name));
      out.push({ doc, crd: { name, group, kind, plural, scope, versions, file } });
    }
  }
  return out;
}

/**
 * Applies every CustomResourceDefinition in `dir` (server-side apply, so it is
 * idempotent) and waits until each is Established and its served versions
 * answer a list call.
 */
export async function installCrds(kubeconfigPath: string, dir = "crds/", opts: InstallCrdsOptions = {}): Promise<InstalledCrd[]> {
  const kc = loadKubeConfig(kubeconfigPath);
  const absolute = resolve(dir);
  const entries = readCrds(absolute);
  if (entries.length === 0) throw new Error(`installCrds: no CustomResourceDefinition found in ${absolute}`);
  const fieldManager = opts.fieldManager ?? "keyward-controlplane";
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const log = opts.log ?? (() => undefined);

  for (const { doc, crd } of entries) {
    const req = {
      method: "PATCH" as const,
      path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(crd.name)}?fieldManager=${encodeURIComponent(fieldManager)}&force=true`,
      body: doc,
      contentType: "application/apply-patch+yaml",
    };
    try {
      await kubeJson(kc, req);
    } catch (error) {
      if (error instanceof KubeApiError) throw new Error(`${crd.file}: the API server refused CustomResourceDefinition ${crd.name}: ${error.serverMessage}`, { cause: error });
      throw error;
    }
    log(`applied ${crd.name}`);
  }

  const deadline = Date.now() + timeoutMs;
  for (const { crd } of entries) {
    let last = "not checked yet";
    for (;;) {
      const ready = await (async (): Promise<boolean> => {
        const current = await kubeJson<CrdStatus>(kc, { method: "GET", path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${encodeURIComponent(crd.name)}` });
        const conditions = current.status?.conditions ?? [];
        for (const type of ["NamesAccepted", "Established"]) {
          const c = conditions.find((x) => x.type === type);
          if (c?.status !== "True") {
            last = `${type} is ${c?.status ?? "absent"}${c?.message ? `: ${c.message}` : ""}`;
            return false;
          }
        }
        for (const version of crd.versions) {
          const path = `/apis/${crd.group}/${version}/${crd.plural}?limit=1`;
          const res = await kubeRequest(kc, { method: "GET", path });
          if (res.status !== 200) {
            last = `GET ${path} answered ${res.status}`;
            return false;
          }
        }
        return true;
      })();
      if (ready) break;
      if (Date.now() >= deadline) throw new Error(`CustomResourceDefinition ${crd.name} was not served within ${timeoutMs}ms: ${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  log(`${entries.length} CRDs established and served`);
  return entries.map((e) => e.crd);
}
