import { afterEach, describe, expect, it } from "vitest";
import type { ApiKey, ClusterRotationPolicy, RotationPolicy } from "../../src/api/types.generated.ts";
import { API_VERSION } from "../../src/api/types.generated.ts";
import { informerCache } from "../../src/issuer/index.ts";
import { Informer } from "../../src/kube/informer.ts";
import { MemorySource } from "../kube/support/memory-source.ts";
import type { SecretObject } from "../../src/model/signing-key/secret.ts";
import type { ConfigMapObject } from "../../src/model/bundle/configmap.ts";

const informers: Informer[] = [];
afterEach(async () => {
  await Promise.all(informers.splice(0).map((i) => i.stop()));
});

function informer<T extends { metadata?: object }>(source: MemorySource<T & { metadata: object }>): Informer<T & { metadata: object }> {
  const i = new Informer(source, { resyncPeriodMs: 0 });
  informers.push(i as unknown as Informer);
  return i;
}

describe("informerCache", () => {
  it("reads every kind from its informer by namespace and name, and is synced once all of them are", async () => {
    const apiKeys = new MemorySource<ApiKey>();
    apiKeys.add({ apiVersion: API_VERSION, kind: "ApiKey", metadata: { name: "reporting", namespace: "acme" } });
    const clusterPolicies = new MemorySource<ClusterRotationPolicy>();
    clusterPolicies.add({ apiVersion: API_VERSION, kind: "ClusterRotationPolicy", metadata: { name: "default" }, spec: { schedule: { every: "720h" } } });
    const sources = {
      apiKeys: informer(apiKeys),
      secrets: informer(new MemorySource<SecretObject>()),
      records: informer(new MemorySource<ConfigMapObject>()),
      rotationPolicies: informer(new MemorySource<RotationPolicy>()),
      clusterRotationPolicies: informer(clusterPolicies),
    };
    const cache = informerCache(sources, "keyward-system");
    expect(cache.synced()).toBe(false);
    for (const i of Object.values(sources)) i.start();
    await Promise.all(Object.values(sources).map((i) => i.waitForSync()));
    expect(cache.synced()).toBe(true);
    expect(cache.apiKeys.get("acme", "reporting")?.metadata.name).toBe("reporting");
    expect(cache.apiKeys.get("beta", "reporting")).toBeUndefined();
    expect(cache.clusterRotationPolicies.get(undefined, "default")?.spec.schedule.every).toBe("720h");
  });
});
