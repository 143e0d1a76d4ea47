// The verifier watching its bundle ConfigMap on a real API server, with a service account
// that may only get, list and watch that one ConfigMap and the trusted bundle-signing keys
// (here a ConfigMap keyward-bundle-trust next to it, holding the test's signing key).

import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseVerifierArgs, startVerifier, type RunningVerifier } from "../../src/verifier/index.ts";
import { makeFixture, type Fixture } from "../verifier/support/fixture.ts";
import { bearer, LogCapture, send, signForTest, testBundleSigner } from "../verifier/support/http.ts";
import { publicJwkOf } from "../../src/token/index.ts";
import { eventually, Kube, useNamespace } from "./harness/index.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "verifier");
let fx: Fixture;
let verifier: RunningVerifier | null = null;
const logs = new LogCapture();

/** The bundle ConfigMap holding `text`, signed by the test's trusted key. */
async function configMap(text: string): Promise<{ apiVersion: string; kind: string; metadata: { name: string; namespace: string }; data: Record<string, string> }> {
  const data = { "bundle.json": text, "jwks.json": '{"keys":[]}', "bundle.jws": await signForTest(text, Date.now()) };
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle", namespace: ns.name }, data };
}

/** A kubeconfig for a service account allowed get, list and watch on keyward-bundle only. */
async function restrictedKubeConfig(): Promise<KubeConfig> {
  const namespace = ns.name;
  await kube.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "verifier", namespace } });
  await kube.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "keyward-verifier", namespace },
    rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["keyward-bundle", "keyward-bundle-trust"], verbs: ["get", "list", "watch"] }],
  });
  await kube.create({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "keyward-verifier", namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "keyward-verifier" },
    subjects: [{ kind: "ServiceAccount", name: "verifier", namespace }],
  });
  const review = await kube.json<{ status: { token: string } }>({
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/verifier/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  const admin = kube.kc.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...admin, name: "test" }],
    users: [{ name: "verifier", token: review.status.token }],
    contexts: [{ name: "verifier", cluster: "test", user: "verifier", namespace }],
    currentContext: "verifier",
  });
  return kc;
}

beforeAll(async () => {
  fx = await makeFixture();
  const trust = JSON.stringify({ keys: [publicJwkOf((await testBundleSigner()).jwk)] });
  await kube.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle-trust", namespace: ns.name }, data: { "jwks.json": trust } });
});

afterAll(async () => {
  await verifier?.drain(100);
});

describe("verifier with --bundle-configmap", () => {
  it("loads the bundle ConfigMap and follows its updates within seconds", async () => {
    const tenant = ns.name;
    await kube.create(await configMap(fx.bundleText({ tenant, generation: 1 })));
    const config = parseVerifierArgs(["--mode", "authz", "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--tenant", tenant, "--bundle-configmap", `${tenant}/keyward-bundle`, "--bundle-trust-configmap", `${tenant}/keyward-bundle-trust`, "--decision-log-sample", "1"], {});
    verifier = await startVerifier(config, { kubeConfig: await restrictedKubeConfig(), logDestination: logs });
    const port = verifier.address.port;
    expect(verifier.store.generation()).toBe(1);

    const token = await fx.token({ tenant, atMs: Date.now() - 1000, jti: "aW50ZWdyYXRpb24tdG9rZW4" });
    expect((await send(port, { path: "/api/v0/items", headers: bearer(token) })).status).toBe(200);

    await kube.replace(await configMap(fx.bundleText({ tenant, generation: 2, revoked: [{ jti: "aW50ZWdyYXRpb24tdG9rZW4", apiKey: "reporting", exp: null }] })));
    await eventually("generation 2 to load", () => Promise.resolve(verifier!.store.generation() === 2), { timeoutMs: 10_000, intervalMs: 50 });
    const r = await send(port, { path: "/api/v0/items", headers: bearer(token) });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ code: "ERR_TOKEN_REVOKED" });
    expect(logs.events("bundle_source_error")).toEqual([]);
  });

  it("still enforces when it may not write its report Lease, and says so once", async () => {
    // This service account may read the bundle only: every report write is refused (403).
    await eventually("a refused report write", () => Promise.resolve(verifier!.metrics.reportWrites.get().then((m) => m.values.some((v) => v.labels.result === "error" && v.value > 0))), { timeoutMs: 10_000, intervalMs: 50 });
    const failed = logs.events("report_failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 403 });
    const token = await fx.token({ tenant: ns.name, atMs: Date.now() - 1000, jti: "c3RpbGwtZW5mb3JjZWQ" });
    expect((await send(verifier!.address.port, { path: "/api/v0/items", headers: bearer(token) })).status).toBe(200);
  });

  it("keeps the last good bundle when the ConfigMap is replaced by an older generation", async () => {
    const tenant = ns.name;
    await kube.replace(await configMap(fx.bundleText({ tenant, generation: 1 })));
    await eventually("the regression to be refused", () => Promise.resolve(logs.events("bundle_refused").some((l) => l.reason === "ERR_BUNDLE_GENERATION_REGRESSION")), { timeoutMs: 10_000, intervalMs: 50 });
    expect(verifier!.store.generation()).toBe(2);
  });

  it("refuses a ConfigMap edited by hand to drop a revocation under the same generation, and keeps the token revoked", async () => {
    const tenant = ns.name;
    await kube.replace(await configMap(fx.bundleText({ tenant, generation: 2 })));
    await eventually("the edit to be refused", () => Promise.resolve(logs.events("bundle_refused").some((l) => l.reason === "ERR_BUNDLE_EQUIVOCATION")), { timeoutMs: 10_000, intervalMs: 50 });
    expect(verifier!.store.generation()).toBe(2);
    const token = await fx.token({ tenant, atMs: Date.now() - 1000, jti: "aW50ZWdyYXRpb24tdG9rZW4" });
    const r = await send(verifier!.address.port, { path: "/api/v0/items", headers: bearer(token) });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ code: "ERR_TOKEN_REVOKED" });
  });
});
