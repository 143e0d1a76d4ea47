// Verifier reports on a real node: the verifier sidecars of the echo workload (config/verifier,
// --bundle-configmap) report the bundle generation they enforce in a Lease of their Pod, owned by
// the Pod, and `kubectl keyward status` lists them SYNCED on the tenant's current generation.
import { describe, expect, it } from "vitest";
import { readVerifierReport, VERIFIER_REPORT_SELECTOR, verifierReportName, type LeaseObject } from "../../../src/model/verifier-report.ts";
import { run } from "../../plugin/support.ts";
import { Resources } from "../../../src/kube/index.ts";
import type { KubeObject } from "../../../src/kube/index.ts";
import { e2eEnv, eventually, isReady, runningPods } from "../support.ts";

const e = e2eEnv();

async function bundleGeneration(): Promise<number> {
  const cm = await e.client.get<KubeObject & { data?: Record<string, string> }>(Resources.configMaps, { name: "keyward-bundle", namespace: e.namespace });
  return (JSON.parse(cm.data?.["bundle.json"] ?? "{}") as { generation: number }).generation;
}

describe("verifier sidecars on a real node report back", () => {
  it("keep one Lease per Pod, owned by the Pod, with the generation of the tenant's bundle", async () => {
    const pods = (await runningPods(e, e.namespace, "app.kubernetes.io/name=echo")).filter(isReady);
    expect(pods.length).toBeGreaterThan(0);
    await eventually("every echo Pod's report on the current generation", async () => {
      const generation = await bundleGeneration();
      const leases = (await e.client.list<LeaseObject & KubeObject>(Resources.leases, { namespace: e.namespace, labelSelector: VERIFIER_REPORT_SELECTOR })).items;
      return pods.every((p) => {
        const lease = leases.find((l) => l.metadata.name === verifierReportName(p.metadata?.name ?? ""));
        const report = lease === undefined ? null : readVerifierReport(lease);
        return report?.generation === generation && lease?.metadata.ownerReferences?.[0]?.uid === p.metadata?.uid;
      });
    }, 120_000);
  });

  it("shows them SYNCED in kubectl keyward status", async () => {
    const pods = (await runningPods(e, e.namespace, "app.kubernetes.io/name=echo")).filter(isReady).map((p) => p.metadata?.name ?? "");
    const out = await eventually("kubectl keyward status to list the echo Pods SYNCED", async () => {
      const r = await run(["status", "-n", e.namespace, "--kubeconfig", process.env.KEYWARD_E2E_KUBECONFIG ?? ""], { env: {}, now: Date.now() });
      if (r.code !== 0) return undefined;
      const lines = r.stdout.split("\n");
      const table = lines.slice(lines.indexOf("Verifiers:") + 1);
      return pods.every((pod) => table.some((l) => l.startsWith(`${pod} `) && /\sSYNCED\s/.test(l))) ? r.stdout : undefined;
    }, 60_000);
    expect(out).toContain("Verifiers:");
  });
});
