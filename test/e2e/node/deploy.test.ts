// config/default as users apply it, on a real node: the controller's Pods, their Pod
// Security profile, leader election across Pods, and the sidecar's wiring.
import { beforeAll, describe, expect, it } from "vitest";
import { Resources } from "../../../src/kube/index.ts";
import type { KubeObject } from "../../../src/kube/index.ts";
import { call, e2eEnv, issuedToken, isReady, kubectl, nodeEnv, NodeResources, runningPods, workloadSaw } from "../support.ts";
import type { E2EEnv, NodeEnv } from "../support.ts";

let e: E2EEnv;
let n: NodeEnv;
const CONTROLLER = "app.kubernetes.io/name=keyward,app.kubernetes.io/component=controller";

beforeAll(() => {
  e = e2eEnv();
  n = nodeEnv();
});

describe("config/default on a real node", () => {
  it("runs two controller replicas, both Ready, in a namespace that enforces Pod Security restricted", async () => {
    const ns = await e.client.get(Resources.namespaces, { name: "keyward-system" });
    expect(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const pods = await runningPods(e, "keyward-system", CONTROLLER);
    expect(pods).toHaveLength(2);
    expect(pods.every(isReady)).toBe(true);
  });

  it("has exactly one leader, which is one of the running replicas", async () => {
    const lease = await e.client.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.leases, { name: "keyward-controller", namespace: "keyward-system" });
    const holder = lease.spec?.holderIdentity ?? "";
    const pods = await runningPods(e, "keyward-system", CONTROLLER);
    expect(pods.filter((p) => holder.startsWith(`${p.metadata?.name}_`))).toHaveLength(1);
  });

  it("is refused by Pod Security admission when a Pod there breaks the restricted profile", () => {
    const pod = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "e2e-privileged", namespace: "keyward-system" },
      spec: { containers: [{ name: "c", image: "ghcr.io/keyward/keyward:0.1.0", securityContext: { privileged: true } }] },
    });
    expect(() => kubectl(n, ["create", "--dry-run=server", "-f", "-"], pod)).toThrow(/violates PodSecurity "restricted/);
  });

  it("passes a request with the token from the workload's mounted Secret, and the workload sees the identity, not the token", async () => {
    const token = await issuedToken(e, "profile-api-read");
    const r = await call(e, "GET", "/api/v0/profiles/7", token);
    expect(r.status).toBe(200);
    const [echo] = await runningPods(e, e.namespace, "app.kubernetes.io/name=echo");
    const seen = workloadSaw(n, e.namespace, echo!.metadata!.name!).filter((s) => s.path === "/api/v0/profiles/7");
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => s.apiKey === "profile-api-read" && s.authorization === "absent")).toBe(true);
  });

  it("routes the echo Service to the verifier's port, and the workload's own port is not reachable from outside the Pod", async () => {
    const [echo] = await runningPods(e, e.namespace, "app.kubernetes.io/name=echo");
    const podIp = (echo as { status?: { podIP?: string } }).status?.podIP;
    expect(podIp).toMatch(/^10\.244\./);
    const direct = await fetch(`http://${podIp!}:8080/api/v0/profiles/7`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => 0,
    );
    expect(direct).toBe(0);
    const svc = await e.client.get<KubeObject & { spec?: { ports?: { targetPort?: string | number }[] } }>(
      { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true },
      { name: "echo", namespace: e.namespace },
    );
    expect(svc.spec?.ports?.[0]?.targetPort).toBe("keyward");
    const deployment = await e.client.get(NodeResources.deployments, { name: "echo", namespace: e.namespace });
    expect(deployment.metadata?.labels?.["keyward.dev/protect"]).toBe("true");
  });
});
