import { afterEach, describe, expect, it } from "vitest";
import { LeaderElector, leaseLock } from "../../../src/controller/runtime/leader.ts";
import { Resources } from "../../../src/kube/resources.ts";
import type { Lease } from "../../../src/kube/types.ts";
import { client, waitFor, useTestNamespace } from "./support.ts";

const kube = client("keyward-leader-test");
const ns = useTestNamespace(kube, "rt-leader");

// Short timings so the test runs in seconds; the ratios are the defaults' (15 s / 10 s / 2 s).
const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 400 };

const electors: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

interface Candidate {
  elector: LeaderElector;
  started: number;
  stopped: string[];
}

function candidate(lease: string, identity: string): Candidate {
  const c: Candidate = { elector: undefined as unknown as LeaderElector, started: 0, stopped: [] };
  c.elector = new LeaderElector({
    lock: leaseLock(kube, ns.name, lease),
    identity,
    ...timings,
    onStartedLeading: () => {
      c.started++;
    },
    onStoppedLeading: (reason) => {
      c.stopped.push(reason);
    },
  });
  electors.push(c.elector);
  void c.elector.run();
  return c;
}

async function lease(name: string): Promise<NonNullable<Lease["spec"]>> {
  return (await kube.get<Lease>(Resources.leases, { namespace: ns.name, name })).spec ?? {};
}

const ms = (t: string | null | undefined): number => Date.parse(t ?? "");

describe("leader election on a real Lease", () => {
  it("lets exactly one of two candidates lead, through many renewals", async () => {
    const a = candidate("one-leader", "a");
    const b = candidate("one-leader", "b");
    const leader = await waitFor("a leader", () => (a.elector.isLeader() ? a : b.elector.isLeader() ? b : undefined));
    const follower = leader === a ? b : a;
    const first = await lease("one-leader");
    await waitFor("several renewals", async () => ms((await lease("one-leader")).renewTime) >= ms(first.renewTime) + 4 * timings.retryPeriodMs);
    expect(leader.elector.isLeader()).toBe(true);
    expect(follower.elector.isLeader()).toBe(false);
    expect(follower.started).toBe(0);
    const spec = await lease("one-leader");
    expect(spec.holderIdentity).toBe(leader.elector.identity);
    expect(spec.leaseTransitions).toBe(0);
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it("hands over at once when the leader releases the Lease on stop", async () => {
    const a = candidate("handover", "a");
    await waitFor("a to lead", () => a.elector.isLeader());
    const b = candidate("handover", "b");
    await waitFor("b to see a as holder", () => b.elector.observedHolder === "a");
    const before = await lease("handover");
    await a.elector.stop();
    expect(a.stopped).toEqual(["stopping"]);
    expect((await lease("handover")).holderIdentity).toBe("");
    await waitFor("b to lead", () => b.elector.isLeader());
    const after = await lease("handover");
    expect(after.holderIdentity).toBe("b");
    expect(after.leaseTransitions).toBe(1);
    // b took over before a's last lease would have expired: the release, not the expiry, let it in.
    expect(ms(after.acquireTime)).toBeLessThan(ms(before.renewTime) + timings.leaseDurationMs + timings.retryPeriodMs);
  });

  it("replaces a leader that stopped without releasing only after the lease duration", async () => {
    const a = candidate("expiry", "a");
    await waitFor("a to lead", () => a.elector.isLeader());
    const b = candidate("expiry", "b");
    await waitFor("b to see a as holder", () => b.elector.observedHolder === "a");
    await a.elector.stop({ release: false });
    const abandoned = await lease("expiry");
    expect(abandoned.holderIdentity).toBe("a");
    await waitFor("b to lead", () => b.elector.isLeader(), { timeoutMs: 20_000 });
    const after = await lease("expiry");
    expect(after.holderIdentity).toBe("b");
    expect(ms(after.acquireTime) - ms(abandoned.renewTime)).toBeGreaterThanOrEqual(timings.leaseDurationMs);
  });

  it("stops leading when another holder takes the Lease", async () => {
    const a = candidate("taken", "a");
    await waitFor("a to lead", () => a.elector.isLeader());
    const current = await kube.get<Lease>(Resources.leases, { namespace: ns.name, name: "taken" });
    await kube.replace(Resources.leases, { ...current, spec: { ...current.spec, holderIdentity: "intruder" } });
    await waitFor("a to step down", () => !a.elector.isLeader());
    expect(a.stopped).toEqual(["lost"]);
  });
});
