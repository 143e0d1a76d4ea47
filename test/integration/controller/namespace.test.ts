// Deleting a tenant namespace: the namespace controller deletes the bundle
// ConfigMap and the API server refuses new objects there, so nothing waits for a
// bundle. The controller lets its finalizers go at once, mints no key and issues
// no token while the namespace terminates, and the namespace is gone soon.

import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, eventually, keywardObject, Kube, useNamespace } from "../harness/index.ts";
import {
  accessTokenRef,
  accessTokenWhen,
  apiKeyWhen,
  condition,
  controllerIdentity,
  getApiKey,
  isTrue,
  keySecretRef,
  OffsetClock,
  readBundle,
  runController,
  settled,
  type TestController,
} from "./support.ts";

const kube = Kube.fromTestRun();
// The controller's ServiceAccount lives here; the tenant is a namespace of its own, deleted by the test.
const home = useNamespace(kube, "ctl-ns-home");
const clock = new OffsetClock();
let identity: KubeConfig;
let tenant: string;
let ctl: TestController;

const HOLD = "test.keyward.dev/hold";

const namespaceRef = (name: string): { apiVersion: string; kind: string; name: string } => ({ apiVersion: "v1", kind: "Namespace", name });

interface LogLine {
  level: number;
  msg?: string;
  controller?: string;
  key?: string;
}

function logLines(from = 0): LogLine[] {
  return ctl.logs.slice(from).flatMap((l) => l.split("\n")).filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as LogLine);
}

/** The sum of a counter of the controller over all its labels. */
async function counter(name: string): Promise<number> {
  const metric = ctl.running.manager.metrics.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  return (await metric.get()).values.reduce((sum, v) => sum + v.value, 0);
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, home.name);
  tenant = await createNamespace(kube, "ctl-ns-tenant");
  ctl = await runController(identity, tenant, { clock });
});

afterAll(async () => {
  await ctl.running.stop();
  await kube.mergePatch({ apiVersion: "v1", kind: "ConfigMap", namespace: tenant, name: "hold" }, { metadata: { finalizers: null } }).catch(() => undefined);
  await kube.delete(namespaceRef(tenant));
});

describe("deleting a tenant namespace", () => {
  it("lets every finalizer go without the bundle, re-creates nothing while it terminates, sweeps its keys, and is gone within a deadline", async () => {
    await kube.create(keywardObject("AccessPolicy", tenant, "reads", { rules: [{ methods: ["GET"], paths: ["/api/**"] }] }));
    await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name: "reporting", namespace: tenant }, spec: { policies: ["reads"] } });
    for (const name of ["kept", "revoked"]) {
      await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", metadata: { name, namespace: tenant }, spec: { apiKeyName: "reporting" } });
    }
    await apiKeyWhen(kube, tenant, "reporting", (k) => isTrue(condition(k, "Published")), "Published");
    await accessTokenWhen(kube, tenant, "kept", (t) => isTrue(condition(t, "Ready")), "Ready");
    const revoked = await accessTokenWhen(kube, tenant, "revoked", (t) => isTrue(condition(t, "Ready")), "Ready");
    await kube.mergePatch(accessTokenRef(tenant, "revoked"), { spec: { revoked: true } });
    await eventually("the bundle to list the revoked token", async () => (await readBundle(kube, tenant))?.revoked.some((r) => r.jti === revoked.status?.jti) === true);
    expect((await getApiKey(kube, tenant, "reporting")).metadata.finalizers).toContain("keyward.dev/bundle");
    for (const name of ["kept", "revoked"]) {
      const secret = await kube.get({ apiVersion: "v1", kind: "Secret", namespace: tenant, name });
      expect(secret.metadata.finalizers).toContain("keyward.dev/revocation");
    }
    // An object of the test's own keeps the namespace Terminating until the test has looked.
    await kube.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "hold", namespace: tenant, finalizers: [HOLD] } });
    await settled(ctl.running);

    const writes = ctl.running.writes;
    const before = writes.snapshot();
    const minted = await counter("keyward_signing_keys_minted_total");
    const issued = await counter("keyward_tokens_issued_total");
    const logsFrom = ctl.logs.length;

    await kube.delete(namespaceRef(tenant));
    await eventually(
      "the namespace's ApiKeys, AccessTokens and Secrets to be gone",
      async () => {
        const left = await Promise.all([
          kube.list({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", namespace: tenant }),
          kube.list({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", namespace: tenant }),
          kube.list({ apiVersion: "v1", kind: "Secret", namespace: tenant }, "app.kubernetes.io/managed-by=keyward"),
          kube.list({ apiVersion: "v1", kind: "ConfigMap", namespace: tenant }),
        ]);
        return left.every((items, i) => items.length === (i === 3 ? 1 : 0));
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect((await kube.get(namespaceRef(tenant))).metadata.deletionTimestamp).toBeDefined();

    // Terminating, with nothing of keyward's left: a resync finds nothing to do there.
    ctl.running.resync();
    await settled(ctl.running);
    expect(await counter("keyward_signing_keys_minted_total")).toBe(minted);
    expect(await counter("keyward_tokens_issued_total")).toBe(issued);
    // Its ApiKey's signing-key Secret in the system namespace went too: the sweep deleted it once the ApiKey was gone.
    expect(await kube.find(keySecretRef(tenant, "reporting"))).toBeUndefined();
    // The only writes while it terminated: its finalizers, taken off, and that Secret, deleted.
    const added = writes.snapshot().flatMap((w) => {
      const n = w.count - (before.find((b) => b.verb === w.verb && b.resource === w.resource)?.count ?? 0);
      return n > 0 && w.resource !== "leases.coordination.k8s.io" ? [`${w.verb} ${w.resource}`] : [];
    });
    expect(added.sort()).toEqual(["delete secrets", "patch apikeys.keyward.dev", "patch secrets"]);
    expect(logLines(logsFrom).filter((l) => l.level >= 40)).toEqual([]);

    await kube.mergePatch({ apiVersion: "v1", kind: "ConfigMap", namespace: tenant, name: "hold" }, { metadata: { finalizers: null } });
    await eventually("the tenant namespace to be gone", async () => (await kube.find(namespaceRef(tenant))) === undefined, { timeoutMs: 60_000, intervalMs: 250 });
  });
});
