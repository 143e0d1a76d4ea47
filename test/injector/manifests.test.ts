import { describe, expect, it } from "vitest";
import { injectManifest, injectPod, InjectionError, type PodLike } from "../../src/injector/index.ts";
import { appPod, IMAGE } from "./fixtures.ts";

function deployment(template: PodLike): Record<string, unknown> {
  return { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "acme" }, spec: { replicas: 2, template } };
}

describe("offline injection of manifests", () => {
  it("gives a Deployment's Pod template exactly what the webhook gives the Pod", () => {
    const template = appPod();
    const out = injectManifest(deployment(template), IMAGE).object as { spec: { replicas: number; template: PodLike } };
    const webhook = injectPod(template, { image: IMAGE, what: "x" });
    if (webhook.kind !== "injected") throw new Error("not injected");
    expect(out.spec.template).toEqual(webhook.pod);
    expect(out.spec.replicas).toBe(2);
  });

  it("injects Pods, StatefulSets, Jobs and CronJobs, and passes other objects through", () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: appPod().spec };
    expect(injectManifest(pod, IMAGE).result?.kind).toBe("injected");
    const cron = { kind: "CronJob", metadata: { name: "c" }, spec: { jobTemplate: { spec: { template: appPod() } } } };
    expect(injectManifest(cron, IMAGE).result?.kind).toBe("injected");
    expect(injectManifest({ kind: "StatefulSet", metadata: { name: "s" }, spec: { template: appPod() } }, IMAGE).result?.kind).toBe("injected");
    const svc = { kind: "Service", metadata: { name: "web" }, spec: { ports: [] } };
    expect(injectManifest(svc, IMAGE)).toEqual({ object: svc, result: null });
  });

  it("names the workload when its template cannot be injected", () => {
    const bad = appPod({ "keyward.dev/listen-port": "x" });
    expect(() => injectManifest(deployment(bad), IMAGE)).toThrow(InjectionError);
    expect(() => injectManifest(deployment(bad), IMAGE)).toThrow(/^Deployment acme\/web: annotation keyward.dev\/listen-port/);
    expect(() => injectManifest({ kind: "Deployment", metadata: { name: "w" }, spec: {} }, IMAGE)).toThrow(/Deployment w has no spec.template.spec/);
  });
});
