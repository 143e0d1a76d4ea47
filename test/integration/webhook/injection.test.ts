// Sidecar injection on a real API server: the webhook of config/webhook registered, the
// controller serving it with the certificate it made itself.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, sidecarContainer } from "../../../src/injector/index.ts";
import { eventually, Kube, useNamespace, type KubeObject } from "../harness/index.ts";
import { defaultServiceAccount, IMAGE, pod, startWithWebhook, type PodObject, type WebhookFixture } from "./support.ts";

const kube = Kube.fromTestRun();
const system = useNamespace(kube, "webhook-system");
const tenant = useNamespace(kube, "webhook-tenant");
const optedIn = useNamespace(kube, "webhook-opted-in");

let fixture: WebhookFixture | undefined;
afterAll(async () => {
  await fixture?.stop();
});

beforeAll(async () => {
  await kube.mergePatch({ apiVersion: "v1", kind: "Namespace", name: optedIn.name }, { metadata: { labels: { "keyward.dev/inject": "enabled" } } });
  fixture = await startWithWebhook(kube, system.name, [tenant.name, optedIn.name]);
  await defaultServiceAccount(kube, tenant.name);
  await defaultServiceAccount(kube, optedIn.name);
});

function sidecarsOf(p: PodObject): { name: string; [k: string]: unknown }[] {
  return [...(p.spec.initContainers ?? []), ...p.spec.containers].filter((c) => c.name === "keyward-verifier");
}

describe("the sidecar-injection webhook", () => {
  it("adds the verifier to a labelled Pod as a native sidecar, exactly as documented, labelled for the NetworkPolicy", async () => {
    const created = await kube.create<PodObject>(pod(tenant.name, "labelled", { app: "web", "keyward.dev/inject": "true" }));
    expect(created.spec.initContainers?.map((c) => c.name)).toEqual(["keyward-verifier"]);
    expect(created.spec.initContainers?.[0]).toMatchObject(sidecarContainer(DEFAULT_SETTINGS, IMAGE));
    expect(created.spec.containers.map((c) => c.name)).toEqual(["app"]);
    expect(created.metadata.labels).toMatchObject({ "keyward.dev/protect": "true" });
    expect(created.metadata.annotations).toMatchObject({ "keyward.dev/injected": IMAGE });
  });

  it("follows the settings annotations", async () => {
    const created = await kube.create<PodObject>(pod(tenant.name, "annotated", { "keyward.dev/inject": "true" }, { "keyward.dev/upstream-port": "3000", "keyward.dev/log-level": "debug" }));
    expect(created.spec.initContainers?.[0]).toMatchObject(sidecarContainer({ ...DEFAULT_SETTINGS, upstreamPort: 3000, logLevel: "debug" }, IMAGE));
  });

  it("injects the Pods a labelled Deployment's ReplicaSet creates", async () => {
    const labels = { app: "deployed", "keyward.dev/inject": "true" };
    await kube.create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "deployed", namespace: tenant.name },
      spec: { replicas: 1, selector: { matchLabels: { app: "deployed" } }, template: { metadata: { labels }, spec: pod(tenant.name, "x", labels).spec } },
    });
    const pods = await eventually("the Deployment's Pod", async () => {
      const list = await kube.list<PodObject>({ apiVersion: "v1", kind: "Pod", namespace: tenant.name }, "app=deployed");
      return list.length > 0 ? list : undefined;
    });
    expect(sidecarsOf(pods[0]!)).toHaveLength(1);
    expect(pods[0]!.spec.initContainers?.[0]).toMatchObject(sidecarContainer(DEFAULT_SETTINGS, IMAGE));
  });

  it("leaves an unlabelled Pod, and one labelled \"false\", untouched", async () => {
    for (const [name, labels] of [["plain", { app: "web" }], ["opted-out", { "keyward.dev/inject": "false" }]] as const) {
      const created = await kube.create<PodObject>(pod(tenant.name, name, labels));
      expect(created.spec.initContainers).toBeUndefined();
      expect(created.metadata.labels ?? {}).not.toHaveProperty("keyward.dev/protect");
    }
  });

  it("injects every Pod of a namespace labelled keyward.dev/inject: enabled, except one labelled \"false\"", async () => {
    const plain = await kube.create<PodObject>(pod(optedIn.name, "plain", { app: "web" }));
    expect(sidecarsOf(plain)).toHaveLength(1);
    const out = await kube.create<PodObject>(pod(optedIn.name, "opted-out", { "keyward.dev/inject": "false" }));
    expect(out.spec.initContainers).toBeUndefined();
  });

  it("denies a Pod with a bad annotation, naming the Pod, the annotation and the fix", async () => {
    const err = await kube.rejection(() => kube.create(pod(tenant.name, "bad", { "keyward.dev/inject": "true" }, { "keyward.dev/listen-port": "https" })));
    expect(err.status).toBe(400);
    expect(err.message).toContain(
      `admission webhook "pods.inject.keyward.dev" denied the request: keyward sidecar injection: Pod ${tenant.name}/bad: annotation keyward.dev/listen-port: "https" is not a port number from 1 to 65535; fix the annotation or remove it for the default`,
    );
    expect(await kube.find({ apiVersion: "v1", kind: "Pod", namespace: tenant.name, name: "bad" })).toBeUndefined();
  });

  it("is idempotent: a Pod submitted again with the sidecar it got keeps exactly one, unchanged", async () => {
    const first = await kube.get<PodObject>({ apiVersion: "v1", kind: "Pod", namespace: tenant.name, name: "labelled" });
    const again = await kube.create<PodObject>({ apiVersion: "v1", kind: "Pod", metadata: { name: "again", namespace: tenant.name, labels: first.metadata.labels, annotations: first.metadata.annotations }, spec: first.spec });
    expect(sidecarsOf(again)).toEqual(sidecarsOf(first));
    expect(again.spec.initContainers).toHaveLength(1);
  });

  it("reports a Service that reaches an injected app around its verifier, and not one that targets the verifier", async () => {
    for (const [name, targetPort] of [["direct", 8080], ["guarded", "keyward"]] as const) {
      await kube.create({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: tenant.name }, spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort }] } });
    }
    const events = await eventually("an Event VerifierBypassed on the Service direct", async () => {
      const list = await kube.list<KubeObject & { reason?: string; message?: string; type?: string; involvedObject?: { name?: string } }>({ apiVersion: "v1", kind: "Event", namespace: tenant.name });
      const found = list.filter((e) => e.reason === "VerifierBypassed");
      return found.length > 0 ? found : undefined;
    });
    expect(events.map((e) => e.involvedObject?.name)).toEqual(["direct"]);
    expect(events[0]!.type).toBe("Warning");
    expect(events[0]!.message).toMatch(new RegExp(`^Service ${tenant.name}/direct port 80 targets port 8080 of Pod (labelled|again), its app, not the keyward verifier`));
  });

  it("answers dry-run requests like any other, and nothing is stored", async () => {
    const dry = await kube.create<PodObject>(pod(tenant.name, "dry", { "keyward.dev/inject": "true" }), { dryRun: true });
    expect(sidecarsOf(dry)).toHaveLength(1);
    expect(await kube.find({ apiVersion: "v1", kind: "Pod", namespace: tenant.name, name: "dry" })).toBeUndefined();
  });
});
