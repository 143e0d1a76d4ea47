import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { injectPod } from "../../src/injector/index.ts";
import { bypassGauge, bypassReconciler, type PodObject, type ServiceObject } from "../../src/webhook/bypass.ts";
import { appPod, IMAGE } from "../injector/fixtures.ts";

function injected(): PodObject {
  const r = injectPod(appPod(), { image: IMAGE, what: "x" });
  if (r.kind !== "injected") throw new Error("not injected");
  return { ...r.pod, metadata: { ...r.pod.metadata, name: "web-1", namespace: "acme" } };
}

function setup(targetPort: string | number) {
  const registry = new Registry();
  const svc: ServiceObject = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "acme" }, spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort }] } };
  const services = new Map([["acme/web", svc]]);
  const warnings: string[] = [];
  const reconcile = bypassReconciler({
    services: { get: (ns, name) => services.get(`${ns}/${name}`) },
    pods: { list: () => [injected()] },
    warn: (_s, reason, message) => { warnings.push(`${reason}: ${message}`); return Promise.resolve(); },
    gauge: bypassGauge(registry),
  });
  return { registry, services, warnings, reconcile };
}

describe("the bypass report", () => {
  it("warns on a Service that reaches the app around the verifier, naming the port and the fix, and counts its ports", async () => {
    const { registry, warnings, reconcile } = setup(8080);
    await reconcile("acme/web");
    expect(warnings).toEqual([
      'VerifierBypassed: Service acme/web port 80 targets port 8080 of Pod web-1, its app, not the keyward verifier injected there: requests skip the check. Set the port\'s targetPort to "keyward" (the verifier\'s port), and bind the app to 127.0.0.1',
    ]);
    expect(await registry.metrics()).toContain('keyward_verifier_bypass_ports{namespace="acme",service="web"} 1');
  });

  it("stays quiet, at 0, on a Service that targets the verifier, and forgets a deleted Service", async () => {
    const { registry, services, warnings, reconcile } = setup("keyward");
    await reconcile("acme/web");
    expect(warnings).toEqual([]);
    expect(await registry.metrics()).toContain('keyward_verifier_bypass_ports{namespace="acme",service="web"} 0');
    services.clear();
    await reconcile("acme/web");
    expect(await registry.metrics()).not.toContain('service="web"');
  });
});
