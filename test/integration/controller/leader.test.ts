// Acceptance 10: two replicas in-process with leader election on one Lease. One
// leads and only it writes; when the leader drops off the network without
// releasing the Lease, the other takes over within the lease duration, and a
// rotation requested across the hand-over happens exactly once.

import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, keywardObject, Kube, type KubeObject, useNamespace } from "../harness/index.ts";
import {
  apiKeyRef,
  apiKeyWhen,
  condition,
  controllerIdentity,
  decode,
  eventsOf,
  isTrue,
  runController,
  throughRelay,
  type Cuttable,
  keySecretRef,
  type SecretLike,
  type TestController,
} from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "ctl-leader");
const LEASE = { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 };
let identity: KubeConfig;
const replicas: { ctl: TestController; relay: Cuttable }[] = [];

interface LeaseObject extends KubeObject {
  spec: { holderIdentity?: string; renewTime?: string; acquireTime?: string; leaseDurationSeconds?: number; leaseTransitions?: number };
}

const leaseRef = (): { apiVersion: string; kind: string; namespace: string; name: string } => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  namespace: ns.name,
  name: "keyward-controller",
});

async function replica(): Promise<{ ctl: TestController; relay: Cuttable }> {
  const relay = await throughRelay(identity);
  const ctl = await runController(relay.kubeConfig, ns.name, { leaderElection: { namespace: ns.name, ...LEASE } });
  const r = { ctl, relay };
  replicas.push(r);
  return r;
}

function notLease(_verb: string, resource: string): boolean {
  return resource !== "leases.coordination.k8s.io";
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  await kube.create(keywardObject("RotationPolicy", ns.name, "daily", { schedule: { every: "24h" }, prePublish: "5m" }));
  await replica();
  await replica();
});

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.ctl.running.stop()));
});

describe("two replicas on one Lease", () => {
  it("elect exactly one leader, and only the leader writes", async () => {
    const [a, b] = replicas.map((r) => r.ctl.running);
    if (a === undefined || b === undefined) throw new Error("two replicas expected");
    const leader = await eventually("one leader", () => Promise.resolve(a.isLeader() !== b.isLeader() ? (a.isLeader() ? a : b) : undefined));
    const follower = leader === a ? b : a;
    const lease = await kube.get<LeaseObject>(leaseRef());
    expect(lease.spec.holderIdentity).toBe(leader.identity);

    await kube.create(keywardObject("ApiKey", ns.name, "shared", { rotationPolicyRef: { kind: "RotationPolicy", name: "daily" } }));
    await apiKeyWhen(kube, ns.name, "shared", (k) => isTrue(condition(k, "Ready")) && isTrue(condition(k, "Published")), "Ready");
    expect(leader.writes.count(notLease)).toBeGreaterThan(0);
    expect(follower.writes.count(notLease)).toBe(0);
    expect(follower.isLeader()).toBe(false);
  });

  it("hand over within the lease duration when the leader drops off without releasing, and rotate exactly once", async () => {
    const leaderIndex = replicas.findIndex((r) => r.ctl.running.isLeader());
    const leader = replicas[leaderIndex];
    const follower = replicas[1 - leaderIndex];
    if (leader === undefined || follower === undefined) throw new Error("a leader and a follower expected");
    const keysBefore = await kids();

    // The request and the loss of the leader race: whichever replica acts on it, it acts once.
    await kube.mergePatch(apiKeyRef(ns.name, "shared"), { spec: { rotate: "handover" } });
    const before = await kube.get<LeaseObject>(leaseRef());
    await leader.relay.cut();

    await eventually("the follower to lead", () => Promise.resolve(follower.ctl.running.isLeader()), { timeoutMs: 30_000 });
    const lease = await kube.get<LeaseObject>(leaseRef());
    expect(lease.spec.holderIdentity).toBe(follower.ctl.running.identity);
    expect(lease.spec.leaseTransitions).toBe((before.spec.leaseTransitions ?? 0) + 1);
    // Taken over within the lease duration of the last renewal (plus the retry period the follower polls at).
    const gap = Date.parse(lease.spec.acquireTime ?? "") - Date.parse(before.spec.renewTime ?? "");
    expect(gap).toBeLessThanOrEqual(LEASE.leaseDurationMs + 3 * LEASE.retryPeriodMs);
    await eventually("the cut-off leader to step down", () => Promise.resolve(!leader.ctl.running.isLeader()), { timeoutMs: 30_000 });

    const rotated = await apiKeyWhen(kube, ns.name, "shared", (k) => k.status?.observedRequests?.rotate === "handover", "the rotation request acted on");
    await eventually("the new leader to settle", () => Promise.resolve(follower.ctl.running.idle()));
    expect(rotated.status?.keys?.map((k) => k.state)).toEqual(["prepared", "active"]);
    const keysAfter = await kids();
    expect(keysAfter.filter((k) => !keysBefore.includes(k))).toHaveLength(1);
    // Events are best effort (a leader cut off mid-rotation cannot record one), but never two.
    const started = (await eventsOf(kube, ns.name, "shared")).filter((e) => e.reason === "RotationStarted");
    expect(started.map((e) => e.count ?? 1).reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(1);
  });
});

async function kids(): Promise<string[]> {
  const secret = await kube.get<SecretLike>(keySecretRef(ns.name, "shared"));
  return (JSON.parse(decode(secret, "keys.json")) as { keys: { jwk: { kid: string } }[] }).keys.map((k) => k.jwk.kid);
}
