// Failures on a real node, each judged by what clients and the workload saw: the leader Pod
// deleted in the middle of a rotation, the verifier container killed, the controller gone
// for a minute, and containerd and the kubelet killed and restarted.
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { ApiKey } from "../../../src/api/index.ts";
import { Resources } from "../../../src/kube/index.ts";
import type { KubeObject, Lease } from "../../../src/kube/index.ts";
import {
  apiKey,
  call,
  e2eEnv,
  eventually,
  issuedToken,
  isReady,
  killContainer,
  kidOf,
  kubectl,
  nodeEnv,
  nodeState,
  NodeResources,
  runningPods,
  traffic,
  workloadSaw,
} from "../support.ts";
import type { E2EEnv, NodeEnv, Pod, Sample } from "../support.ts";

let e: E2EEnv;
let n: NodeEnv;
const API = "keyward.dev/v1alpha1";
const SYSTEM = "keyward-system";
const CONTROLLER = "app.kubernetes.io/name=keyward,app.kubernetes.io/component=controller";
const ECHO = "app.kubernetes.io/name=echo";
/** How long the controller stays away in the outage test (KEYWARD_E2E_OUTAGE_MS, default a minute). */
const OUTAGE_MS = Number(process.env.KEYWARD_E2E_OUTAGE_MS ?? "60000");

beforeAll(async () => {
  e = e2eEnv();
  n = nodeEnv();
  await e.client.apply(Resources.rotationPolicies, {
    apiVersion: API,
    kind: "RotationPolicy",
    metadata: { name: "e2e-failures", namespace: e.namespace },
    spec: { schedule: { every: "720h" }, prePublish: "5s", grace: "1h", defaultTokenLifetime: "1h", maxTokenLifetime: "24h" },
  });
});

async function tokenFor(name: string, apiKeyName: string, rotationPolicy?: string): Promise<string> {
  if (rotationPolicy !== undefined) {
    await e.client.apply(Resources.apiKeys, {
      apiVersion: API,
      kind: "ApiKey",
      metadata: { name: apiKeyName, namespace: e.namespace },
      spec: { rotationPolicyRef: { kind: "RotationPolicy", name: rotationPolicy }, policies: ["profile-api-read"] },
    });
  }
  await e.client.apply(Resources.accessTokens, {
    apiVersion: API,
    kind: "AccessToken",
    metadata: { name, namespace: e.namespace },
    spec: { apiKeyName, lifetime: "1h" },
  });
  const token = await issuedToken(e, name);
  await eventually(`the verifier to accept the token of ${name}`, async () => (await call(e, "GET", "/api/v0/profiles/warm", token)).status === 200);
  return token;
}

async function leaderPod(): Promise<string> {
  const lease = await e.client.get<Lease>(Resources.leases, { name: "keyward-controller", namespace: SYSTEM });
  const holder = lease.spec?.holderIdentity ?? "";
  return holder.slice(0, holder.lastIndexOf("_"));
}

function failures(samples: readonly Sample[], ok: (s: Sample) => boolean): Sample[] {
  return samples.filter((s) => !ok(s));
}

function summary(samples: readonly Sample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) counts.set(`${s.status}${s.code === undefined ? "" : ` ${s.code}`}`, (counts.get(`${s.status}${s.code === undefined ? "" : ` ${s.code}`}`) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${v}× ${k}`).join(", ");
}

async function controllersReady(count: number): Promise<void> {
  await eventually(`${count} controller replicas Ready`, async () => {
    const pods = await runningPods(e, SYSTEM, CONTROLLER);
    return pods.length === count && pods.every(isReady);
  }, 180_000, 500);
}

describe("the leader Pod deleted in the middle of a rotation", () => {
  it("lets the other replica take over: exactly one new key, and tokens verify throughout", async () => {
    let current = await tokenFor("e2e-failover", "e2e-failover", "e2e-failures");
    const kidsBefore = (await apiKey(e, "e2e-failover")).status?.keys?.map((k) => k.kid) ?? [];
    const oldKid = kidOf(current);
    const load = traffic(e, "GET", "/api/v0/profiles/failover", () => current);
    const leader = await leaderPod();

    await e.client.mergePatch(Resources.apiKeys, { name: "e2e-failover", namespace: e.namespace }, { spec: { rotate: `failover-${Date.now()}` } });
    await e.client.delete(NodeResources.pods, { name: leader, namespace: SYSTEM }, { gracePeriodSeconds: 1 });

    await eventually("another replica to lead", async () => {
      const now = await leaderPod();
      return now !== "" && now !== leader;
    }, 60_000);
    const newKid = await eventually("the new key to become active", async () => {
      const active = (await apiKey(e, "e2e-failover")).status?.activeKid;
      return active !== undefined && active !== oldKid ? active : undefined;
    });
    current = await issuedToken(e, "e2e-failover", { kid: newKid });
    await eventually("the verifier to accept the re-issued token", async () => (await call(e, "GET", "/api/v0/profiles/failover", current)).status === 200);
    await controllersReady(2);
    const samples = await load.stop();

    expect(samples.length).toBeGreaterThan(20);
    expect(failures(samples, (s) => s.status === 200), summary(samples)).toEqual([]);
    const key: ApiKey = await apiKey(e, "e2e-failover");
    const added = (key.status?.keys ?? []).filter((k) => !kidsBefore.includes(k.kid));
    expect(added.map((k) => k.kid)).toEqual([newKid]);
    expect(key.status?.keys?.find((k) => k.kid === oldKid)?.state).toBe("deposed");
  });
});

describe("the verifier container killed", () => {
  it("lets no unchecked request reach the workload while it is down, and passes traffic again once the kubelet restarted it", async () => {
    const token = await tokenFor("e2e-verifier-kill", "profile-api-read");
    const [pod] = await runningPods(e, e.namespace, ECHO);
    const verifier = pod!.status?.containerStatuses?.find((c) => c.name === "keyward-verifier");
    expect(verifier?.containerID).toMatch(/^containerd:\/\//);
    const withToken = traffic(e, "GET", "/api/v0/profiles/kill-with-token", () => token);
    const withoutToken = traffic(e, "GET", "/api/v0/profiles/kill-without-token", () => undefined);

    killContainer(n, verifier!.containerID!.replace("containerd://", ""));
    await eventually("the kubelet to restart the verifier", async () => {
      const now = await e.client.get<Pod>(NodeResources.pods, { name: pod!.metadata!.name!, namespace: e.namespace });
      const status = now.status?.containerStatuses?.find((c) => c.name === "keyward-verifier");
      return status !== undefined && status.restartCount > verifier!.restartCount && status.ready;
    }, 120_000, 500);
    await eventually("requests with a token to pass again", async () => (await call(e, "GET", "/api/v0/profiles/kill-with-token", token)).status === 200);
    const [valid, anonymous] = await Promise.all([withToken.stop(), withoutToken.stop()]);

    // The kill was felt: some requests found no verifier (refused or 503), none got through.
    expect(valid.some((s) => s.status !== 200), summary(valid)).toBe(true);
    expect(failures(anonymous, (s) => s.status === 401 || s.status === 0 || s.status === 503), summary(anonymous)).toEqual([]);
    const seen = workloadSaw(n, e.namespace, pod!.metadata!.name!);
    expect(seen.filter((s) => s.path === "/api/v0/profiles/kill-without-token")).toEqual([]);
    const passed = seen.filter((s) => s.path === "/api/v0/profiles/kill-with-token");
    expect(passed.length).toBeGreaterThan(0);
    expect(passed.every((s) => s.apiKey === "profile-api-read" && s.authorization === "absent")).toBe(true);
  });
});

describe("the controller gone for a while", () => {
  it("leaves running sidecars enforcing the last bundle, and a revocation made meanwhile takes effect within seconds of its return", async () => {
    const doomed = await tokenFor("e2e-outage", "profile-api-read");
    const valid = await issuedToken(e, "profile-api-read");
    kubectl(n, ["-n", SYSTEM, "scale", "deployment/keyward-controller", "--replicas=0"]);
    await eventually("every controller Pod to be gone", async () => (await e.client.list<Pod>(NodeResources.pods, { namespace: SYSTEM, labelSelector: CONTROLLER })).items.length === 0, 120_000, 500);
    const goneAt = Date.now();
    await e.client.mergePatch(Resources.accessTokens, { name: "e2e-outage", namespace: e.namespace }, { spec: { revoked: true } });
    const validLoad = traffic(e, "GET", "/api/v0/profiles/outage", () => valid, 200);
    const anonymousLoad = traffic(e, "GET", "/api/v0/profiles/outage", () => undefined, 200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - goneAt))));
    const [during, anonymous] = await Promise.all([validLoad.stop(), anonymousLoad.stop()]);
    expect(failures(during, (s) => s.status === 200), summary(during)).toEqual([]);
    expect(failures(anonymous, (s) => s.status === 401), summary(anonymous)).toEqual([]);

    kubectl(n, ["-n", SYSTEM, "scale", "deployment/keyward-controller", "--replicas=2"]);
    const back = Date.now();
    const refused = await eventually("the revoked token to be refused", async () => {
      const r = await call(e, "GET", "/api/v0/profiles/outage", doomed);
      return r.status === 401 ? r : undefined;
    }, 60_000, 100);
    process.stderr.write(`[e2e] after ${Math.round((back - goneAt) / 1000)} s without a controller, a revocation made meanwhile was enforced ${Date.now() - back} ms after scaling it back\n`);
    expect(JSON.parse(refused.body)).toMatchObject({ code: "ERR_TOKEN_REVOKED" });
    await controllersReady(2);
  });
});

describe("containerd and the kubelet killed and restarted", () => {
  it("loses no token, no key and no container, and requests pass throughout", async () => {
    const token = await issuedToken(e, "profile-api-read");
    const secretDigests = async (): Promise<Record<string, string>> => {
      const list = await e.client.list<KubeObject & { data?: Record<string, string> }>(Resources.secrets, { namespace: e.namespace });
      return Object.fromEntries(list.items.map((s) => [s.metadata?.name ?? "", createHash("sha256").update(JSON.stringify(s.data ?? {})).digest("hex")]));
    };
    const keys = async (): Promise<Record<string, string[]>> => {
      const list = await e.client.list<ApiKey>(Resources.apiKeys, { namespace: e.namespace });
      return Object.fromEntries(list.items.map((k): [string, string[]] => [k.metadata.name ?? "", (k.status?.keys ?? []).map((key) => `${key.kid}:${key.state}`)]));
    };
    const containers = async (): Promise<string[]> =>
      (await e.client.list<Pod>(NodeResources.pods, { namespace: "" })).items.flatMap((p) => (p.status?.containerStatuses ?? []).map((c) => `${p.metadata?.uid ?? ""}/${c.containerID ?? ""}/${c.restartCount}`)).sort();
    const [secretsBefore, keysBefore, containersBefore] = [await secretDigests(), await keys(), await containers()];
    const load = traffic(e, "GET", "/api/v0/profiles/node-restart", () => token);

    const before = nodeState(n.statePath).pids;
    const killedAt = new Date();
    for (const name of ["containerd", "kubelet"]) process.kill(before[name]!, "SIGKILL");
    await eventually("containerd and the kubelet to be running again", () => {
      const now = nodeState(n.statePath).pids;
      return Promise.resolve(now.containerd !== before.containerd && now.kubelet !== before.kubelet);
    }, 60_000);
    await eventually("the node to report Ready again after the restart", async () => {
      const node = await e.client.get<KubeObject & { status?: { conditions?: { type: string; status: string; lastHeartbeatTime?: string }[] } }>(NodeResources.nodes, { name: "keyward-node" });
      const ready = node.status?.conditions?.find((c) => c.type === "Ready");
      return ready?.status === "True" && new Date(ready.lastHeartbeatTime ?? 0) > killedAt;
    }, 120_000, 500);
    const samples = await load.stop();

    expect(failures(samples, (s) => s.status === 200), summary(samples)).toEqual([]);
    expect(await secretDigests()).toEqual(secretsBefore);
    expect(await keys()).toEqual(keysBefore);
    expect(await containers()).toEqual(containersBefore);
    expect((await call(e, "GET", "/api/v0/profiles/node-restart", token)).status).toBe(200);
  });
});
