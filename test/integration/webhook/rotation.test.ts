// Certificate rotation under load, on a real API server: two replicas serve the webhook (the
// configuration's first webhook calls one, its second the other), their certificates live
// seconds instead of days, and Pods are admitted all along. Every admission must succeed with
// the sidecar while the serving pair is renewed and the CA is replaced several times.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, Kube, useNamespace, type KubeObject } from "../harness/index.ts";
import { defaultServiceAccount, pod, startWithWebhook, type PodObject, type WebhookFixture } from "./support.ts";

const kube = Kube.fromTestRun();
const system = useNamespace(kube, "rotation-system");
const byLabel = useNamespace(kube, "rotation-label");
const byNamespace = useNamespace(kube, "rotation-namespace");

/** Lifetimes of seconds: the serving pair is renewed every ~6 s, the CA every ~15 s. */
const POLICY = { caValidityMs: 30_000, caRenewBeforeMs: 15_000, servingValidityMs: 12_000, servingRenewBeforeMs: 6_000, settleMs: 2_000 };
const RUN_MS = 40_000;

interface SecretLike extends KubeObject {
  data?: Record<string, string>;
}

let fixture: WebhookFixture | undefined;
afterAll(async () => {
  await fixture?.stop();
});

beforeAll(async () => {
  await kube.mergePatch({ apiVersion: "v1", kind: "Namespace", name: byNamespace.name }, { metadata: { labels: { "keyward.dev/inject": "enabled" } } });
  fixture = await startWithWebhook(kube, system.name, [byLabel.name, byNamespace.name], { policy: POLICY, checkIntervalMs: 250 }, 2);
  await defaultServiceAccount(kube, byLabel.name);
  await defaultServiceAccount(kube, byNamespace.name);
});

describe("certificate rotation", () => {
  it("keeps the webhook answering on every replica: no admission fails while serving pairs and CAs are replaced", async () => {
    const cas = new Set<string>();
    const servings = new Set<string>();
    const failures: string[] = [];
    let admitted = 0;
    const deadline = Date.now() + RUN_MS;

    const watchSecret = (async () => {
      while (Date.now() < deadline) {
        const s = await kube.find<SecretLike>({ apiVersion: "v1", kind: "Secret", namespace: system.name, name: "keyward-webhook-tls" });
        if (s?.data?.["ca.crt"] !== undefined) cas.add(s.data["ca.crt"]);
        if (s?.data?.["tls.crt"] !== undefined) servings.add(s.data["tls.crt"]);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const admit = async (namespace: string, labels: Record<string, string>): Promise<void> => {
      let i = 0;
      while (Date.now() < deadline) {
        try {
          const created = await kube.create<PodObject>(pod(namespace, `p-${i++}`, labels), { dryRun: true });
          if (created.spec.initContainers?.[0]?.name !== "keyward-verifier") failures.push(`${namespace}: admitted without the sidecar`);
          admitted++;
        } catch (err) {
          failures.push(`${namespace}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    };
    await Promise.all([watchSecret, admit(byLabel.name, { "keyward.dev/inject": "true" }), admit(byNamespace.name, { app: "web" })]);

    expect(failures).toEqual([]);
    expect(admitted).toBeGreaterThan(100);
    expect(cas.size).toBeGreaterThanOrEqual(3);
    expect(servings.size).toBeGreaterThanOrEqual(6);
  });

  it("keeps the caBundle in step: it trusts the current CA", async () => {
    await eventually("the caBundle to hold the Secret's CA", async () => {
      const s = await kube.get<SecretLike>({ apiVersion: "v1", kind: "Secret", namespace: system.name, name: "keyward-webhook-tls" });
      const c = await kube.get<KubeObject & { webhooks: { clientConfig: { caBundle: string } }[] }>({ apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", name: "keyward-injector" });
      const ca = Buffer.from(s.data!["ca.crt"]!, "base64").toString().trim();
      return c.webhooks.every((w) => Buffer.from(w.clientConfig.caBundle, "base64").toString().includes(ca));
    });
  });
});
