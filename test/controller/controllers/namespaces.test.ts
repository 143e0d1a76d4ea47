import { afterEach, describe, expect, it } from "vitest";
import { refusedInTerminatingNamespace, TenantNamespaces, type NamespaceObject } from "../../../src/controller/controllers/namespaces.ts";
import type { WatchSpec } from "../../../src/controller/runtime/controller.ts";
import { ManualClock, settle } from "../../../src/kube/clock.ts";
import { errorFromResponse } from "../../../src/kube/errors.ts";
import { Informer } from "../../../src/kube/informer.ts";
import type { Logger } from "../../../src/kube/logger.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { MemorySource } from "../../kube/support/memory-source.ts";

const DELETED_AT = "2026-03-01T10:00:00Z";

const namespace = (name: string, deletionTimestamp?: string): NamespaceObject => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, ...(deletionTimestamp === undefined ? {} : { deletionTimestamp }) },
});

const apiKey = (ns: string, name: string, creationTimestamp = "2026-02-01T00:00:00Z"): KubeObject => ({
  apiVersion: "keyward.dev/v1alpha1",
  kind: "ApiKey",
  metadata: { namespace: ns, name, creationTimestamp },
});

const started: Informer<NamespaceObject>[] = [];

async function namespacesOver(sources: Record<string, MemorySource<NamespaceObject>>): Promise<TenantNamespaces> {
  const clock = new ManualClock();
  const informers = new Map<string, Informer<NamespaceObject>>();
  for (const [key, source] of Object.entries(sources)) {
    const inf = new Informer(source, { clock, resyncPeriodMs: 0 });
    informers.set(key, inf);
    started.push(inf);
    inf.start();
    await inf.waitForSync();
  }
  return new TenantNamespaces(informers);
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((i) => i.stop()));
});

describe("TenantNamespaces", () => {
  it("says an object is in a namespace being deleted once the namespace's deletionTimestamp is set, and not before", async () => {
    const all = new MemorySource<NamespaceObject>();
    const acme = all.add(namespace("acme"));
    all.add(namespace("globex", DELETED_AT));
    const namespaces = await namespacesOver({ "": all });
    expect(namespaces.terminating(apiKey("acme", "reporting"))).toBe(false);
    expect(namespaces.terminating(apiKey("globex", "reporting"))).toBe(true);
    expect(namespaces.terminating(apiKey("unknown", "reporting"))).toBe(false);
    expect(namespaces.terminating({ metadata: { name: "cluster-scoped" } })).toBe(false);

    all.update({ ...acme, metadata: { ...acme.metadata, deletionTimestamp: DELETED_AT } });
    await settle();
    expect(namespaces.terminating(apiKey("acme", "reporting"))).toBe(true);
    expect(namespaces.tenantTerminating("acme", [apiKey("acme", "reporting")])).toBe(true);
    expect(namespaces.tenantTerminating("acme", [])).toBe(true);
  });

  it("does not count an object created after the deletion began: it is in a namespace of the same name created since", async () => {
    const all = new MemorySource<NamespaceObject>();
    all.add(namespace("acme", DELETED_AT));
    const namespaces = await namespacesOver({ "": all });
    const old = apiKey("acme", "old", "2026-02-01T00:00:00Z");
    const sameSecond = apiKey("acme", "same-second", DELETED_AT);
    const recreated = apiKey("acme", "new", "2026-03-01T10:00:05Z");
    expect(namespaces.terminating(old)).toBe(true);
    expect(namespaces.terminating(sameSecond)).toBe(true);
    expect(namespaces.terminating(recreated)).toBe(false);
    expect(namespaces.tenantTerminating("acme", [old, recreated])).toBe(false);
  });

  it("reads the informer of each watched namespace by name, and knows nothing of the others", async () => {
    const acme = new MemorySource<NamespaceObject>();
    const globex = new MemorySource<NamespaceObject>();
    acme.add(namespace("acme", DELETED_AT));
    globex.add(namespace("globex"));
    const namespaces = await namespacesOver({ acme, globex });
    expect(namespaces.get("acme")?.metadata?.name).toBe("acme");
    expect(namespaces.get("globex")?.metadata?.name).toBe("globex");
    expect(namespaces.get("initech")).toBeUndefined();
    expect(namespaces.terminating(apiKey("acme", "reporting"))).toBe(true);
    expect(namespaces.terminating(apiKey("globex", "reporting"))).toBe(false);
    expect(namespaces.informers).toHaveLength(2);
  });

  it("wakes the keys of a namespace when its deletion begins and when it is gone, and on nothing else", async () => {
    const namespaces = await namespacesOver({ "": new MemorySource<NamespaceObject>() });
    const [spec] = namespaces.watchDeletion((ns) => [`${ns}/reporting`, `${ns}/billing`]) as [WatchSpec<NamespaceObject>];
    const live = namespace("acme");
    const deleting = namespace("acme", DELETED_AT);
    const relabelled = { ...deleting, metadata: { ...deleting.metadata, labels: { team: "x" } } };
    expect(spec.filter?.("add", live)).toBe(false);
    expect(spec.filter?.("update", live, live)).toBe(false);
    expect(spec.filter?.("update", deleting, live)).toBe(true);
    expect(spec.filter?.("add", deleting)).toBe(true);
    expect(spec.filter?.("update", relabelled, deleting)).toBe(false);
    expect(spec.filter?.("update", deleting, deleting)).toBe(false);
    expect(spec.filter?.("delete", deleting)).toBe(true);
    expect([...(spec.map?.(deleting) ?? [])]).toEqual(["acme/reporting", "acme/billing"]);
  });
});

function recordingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (_obj: object, msg?: string): void => {
    lines.push(`${level} ${msg ?? ""}`);
  };
  return { log: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

describe("refusedInTerminatingNamespace", () => {
  const create = { verb: "create", resource: "secrets", namespace: "acme", name: "reporting-signing-keys" };

  it("takes a create refused with the NamespaceTerminating cause as the end of the reconcile, logged at debug level", () => {
    const { log, lines } = recordingLogger();
    const refused = errorFromResponse(create, 403, { reason: "Forbidden", details: { causes: [{ reason: "NamespaceTerminating", message: "namespace acme is being terminated" }] } });
    expect(refusedInTerminatingNamespace(log, refused, "apikey", "acme")).toBe(true);
    expect(lines).toEqual(["debug namespace is being deleted: nothing is created there"]);
  });

  it("leaves any other failure to the caller, unlogged", () => {
    const { log, lines } = recordingLogger();
    expect(refusedInTerminatingNamespace(log, errorFromResponse(create, 403, { reason: "Forbidden" }), "apikey", "acme")).toBe(false);
    expect(refusedInTerminatingNamespace(log, errorFromResponse(create, 409, { reason: "AlreadyExists" }), "apikey", "acme")).toBe(false);
    expect(lines).toEqual([]);
  });
});
