// Sidecar injection on a real node: a Deployment that carries only the label
// keyward.dev/inject: "true" runs with the verifier injected by the webhook of config/default,
// and requests through its Service are checked (200, 401, 403, and 401 once revoked).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Resources } from "../../../src/kube/index.ts";
import type { KubeObject } from "../../../src/kube/index.ts";
import { call, e2eEnv, eventually, isReady, issuedToken, NodeResources, runningPods, type E2EEnv, type Pod } from "../support.ts";

const NAME = "echo-injected";
const SERVICES = { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true } as const;
const API = "keyward.dev/v1alpha1";
const READ = "/api/v0/profiles/7";

let e: E2EEnv;
/** e, with requests sent to the injected workload's Service. */
let injected: E2EEnv;

interface Deployment extends KubeObject {
  spec: { template: { metadata?: { labels?: Record<string, string> }; spec: { containers: { name: string; image?: string }[]; [k: string]: unknown } }; [k: string]: unknown };
}

beforeAll(async () => {
  e = e2eEnv();
  const ns = e.namespace;
  // The echo workload's Pod spec, with nothing of keyward in it but the label.
  const echo = await e.client.get<Deployment>(NodeResources.deployments, { name: "echo", namespace: ns });
  const spec = { ...echo.spec.template.spec, containers: echo.spec.template.spec.containers.filter((c) => c.name !== "keyward-verifier") };
  await e.client.apply(NodeResources.deployments, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: NAME, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { "app.kubernetes.io/name": NAME } },
      template: { metadata: { labels: { "app.kubernetes.io/name": NAME, "keyward.dev/inject": "true" } }, spec },
    },
  });
  await e.client.apply(SERVICES, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: NAME, namespace: ns },
    spec: { selector: { "app.kubernetes.io/name": NAME }, ports: [{ name: "http", port: 80, targetPort: "keyward", protocol: "TCP" }] },
  });
  await e.client.apply(Resources.apiKeys, { apiVersion: API, kind: "ApiKey", metadata: { name: NAME, namespace: ns }, spec: { policies: ["profile-api-read"] } });
  await e.client.apply(Resources.accessTokens, { apiVersion: API, kind: "AccessToken", metadata: { name: NAME, namespace: ns }, spec: { apiKeyName: NAME, lifetime: "1h" } });
  const svc = await e.client.get<KubeObject & { spec?: { clusterIP?: string } }>(SERVICES, { name: NAME, namespace: ns });
  injected = { ...e, url: `http://${svc.spec?.clusterIP ?? ""}` };
  await eventually("the injected workload's Pod to be Ready", async () => (await runningPods(e, ns, `app.kubernetes.io/name=${NAME}`)).some(isReady), 180_000);
  // A Ready Pod is not yet an endpoint kube-proxy has programmed: until then the Service refuses connections.
  await eventually("the injected workload's Service to answer", async () => (await call(injected, "GET", READ)).status > 0, 60_000, 100);
}, 240_000);

afterAll(async () => {
  await e.client.delete(NodeResources.deployments, { name: NAME, namespace: e.namespace });
  await e.client.delete(SERVICES, { name: NAME, namespace: e.namespace });
});

describe("a Deployment labelled keyward.dev/inject: \"true\" on a real node", () => {
  it("runs with the verifier as a native sidecar, of the controller's own image", async () => {
    const [pod] = await runningPods(e, e.namespace, `app.kubernetes.io/name=${NAME}`);
    const p = pod as Pod & { spec?: { initContainers?: { name: string; restartPolicy?: string; image?: string }[] } };
    const sidecar = p.spec?.initContainers?.[0];
    expect(sidecar?.name).toBe("keyward-verifier");
    expect(sidecar?.restartPolicy).toBe("Always");
    const controller = (await runningPods(e, "keyward-system", "app.kubernetes.io/component=controller"))[0] as Pod & { spec?: { containers?: { image?: string }[] } };
    expect(sidecar?.image).toBe(controller.spec?.containers?.[0]?.image);
  });

  it("answers 401 without a token, 200 within the key's policies and 403 outside them, through its Service", async () => {
    expect((await call(injected, "GET", READ)).status).toBe(401);
    const token = await issuedToken(e, NAME);
    const ok = await eventually("the injected verifier to accept the token", async () => {
      const r = await call(injected, "GET", READ, token);
      return r.status === 200 ? r : undefined;
    }, 60_000);
    expect(JSON.parse(ok.body)).toMatchObject({ path: READ, apiKey: NAME, tenant: e.namespace, authorization: "absent" });
    expect((await call(injected, "POST", "/api/v0/streams/clicks/records", token)).status).toBe(403);
  });

  it("refuses the token with 401 once it is revoked", async () => {
    const token = await issuedToken(e, NAME);
    await eventually("the token to pass", async () => (await call(injected, "GET", READ, token)).status === 200, 60_000);
    await e.client.mergePatch(Resources.accessTokens, { name: NAME, namespace: e.namespace }, { spec: { revoked: true } });
    await eventually("the injected verifier to refuse the revoked token", async () => (await call(injected, "GET", READ, token)).status === 401, 30_000, 100);
  });
});
