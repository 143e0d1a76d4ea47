import { afterEach, describe, expect, it } from "vitest";
import { KubeClient } from "../../../src/kube/client.ts";
import { Informer, listWatch, withoutApplyRecords } from "../../../src/kube/informer.ts";
import { Resources } from "../../../src/kube/resources.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { FakeApiServer } from "../../kube/support/fake-apiserver.ts";

const managedFields = [{ manager: "keyward-apikey", operation: "Apply" as const, apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1: { "f:data": {} } }];
let api: FakeApiServer | undefined;
let informer: Informer | undefined;

afterEach(async () => {
  await informer?.stop();
  await api?.stop();
});

describe("the controller's caches", () => {
  it("hold listed and watched objects without managedFields, everything else intact", async () => {
    api = await FakeApiServer.start();
    api.seed("v1/configmaps", { metadata: { name: "listed", namespace: "acme", managedFields }, data: { a: "1" } });
    const client = new KubeClient({ kubeConfig: api.kubeConfig() });
    informer = new Informer(listWatch(client, Resources.configMaps, { transform: withoutApplyRecords }), { resyncPeriodMs: 0 });
    informer.start();
    await informer.waitForSync();
    const listed = informer.getByName("listed", "acme") as KubeObject & { data?: Record<string, string> };
    expect(listed.metadata?.managedFields).toBeUndefined();
    expect(listed.data).toEqual({ a: "1" });
    expect(listed.metadata?.resourceVersion).toBeDefined();

    const seen = new Promise<KubeObject>((resolve) => informer?.addHandlers({ add: (o) => { if (o.metadata?.name === "watched") resolve(o); } }));
    api.seed("v1/configmaps", { metadata: { name: "watched", namespace: "acme", managedFields }, data: { b: "2" } });
    const watched = await seen;
    expect(watched.metadata?.managedFields).toBeUndefined();
    expect(watched.metadata?.name).toBe("watched");
  });

  it("drop kubectl's last-applied-configuration annotation and keep every other annotation", () => {
    const obj = {
      metadata: { name: "x", annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"spec":{}}', "keyward.dev/client-credentials": "enabled" } },
      spec: { a: 1 },
    };
    expect(withoutApplyRecords(obj)).toEqual({ metadata: { name: "x", annotations: { "keyward.dev/client-credentials": "enabled" } }, spec: { a: 1 } });
  });

  it("leaves an object without managedFields or last-applied-configuration as it is", () => {
    const obj = { metadata: { name: "x" } };
    expect(withoutApplyRecords(obj)).toBe(obj);
  });
});
