import { afterEach, describe, expect, it } from "vitest";
import { LeaderElector, defaultIdentity, formatMicroTime, type LeaderElectorOptions, type LeaseLock } from "../../../src/controller/runtime/leader.ts";
import { ManualClock, settle } from "../../../src/kube/clock.ts";
import { AlreadyExistsError, ConflictError, UnavailableError } from "../../../src/kube/errors.ts";
import type { Lease } from "../../../src/kube/types.ts";

/** A Lease store with the API server's optimistic concurrency. */
class MemoryLeaseLock implements LeaseLock {
  readonly description = "lease test/keyward";
  lease: Lease | undefined;
  down = false;
  writes = 0;
  #rv = 1;

  async get(): Promise<Lease | undefined> {
    await Promise.resolve();
    if (this.down) throw new UnavailableError({ verb: "get", resource: "leases" }, 503, { message: "unavailable" });
    return this.lease === undefined ? undefined : structuredClone(this.lease);
  }

  async create(lease: Lease): Promise<Lease> {
    await Promise.resolve();
    if (this.down) throw new UnavailableError({ verb: "create", resource: "leases" }, 503, { message: "unavailable" });
    this.writes++;
    if (this.lease !== undefined) throw new AlreadyExistsError({ verb: "create", resource: "leases" }, 409, { reason: "AlreadyExists" });
    this.lease = { ...structuredClone(lease), metadata: { name: "keyward", namespace: "test", resourceVersion: String(++this.#rv) } };
    return structuredClone(this.lease);
  }

  async update(lease: Lease): Promise<Lease> {
    await Promise.resolve();
    if (this.down) throw new UnavailableError({ verb: "update", resource: "leases" }, 503, { message: "unavailable" });
    this.writes++;
    if (this.lease?.metadata?.resourceVersion !== lease.metadata?.resourceVersion) {
      throw new ConflictError({ verb: "update", resource: "leases" }, 409, { reason: "Conflict" });
    }
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.#rv) } };
    return structuredClone(this.lease);
  }

  get holder(): string | null | undefined {
    return this.lease?.spec?.holderIdentity;
  }
}

const electors: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

interface Candidate {
  elector: LeaderElector;
  log: string[];
}

function candidate(lock: LeaseLock, clock: ManualClock, identity: string, extra: Partial<LeaderElectorOptions> = {}): Candidate {
  const log: string[] = [];
  const elector = new LeaderElector({
    lock,
    identity,
    clock,
    random: () => 0,
    onStartedLeading: () => void log.push("started"),
    onStoppedLeading: (reason) => void log.push(`stopped:${reason}`),
    ...extra,
  });
  electors.push(elector);
  void elector.run();
  return { elector, log };
}

describe("LeaderElector", () => {
  it("takes a missing Lease, records itself as holder in MicroTime, and starts leading", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 0, 123));
    const lock = new MemoryLeaseLock();
    const a = candidate(lock, clock, "a");
    await settle();
    expect(a.elector.isLeader()).toBe(true);
    expect(a.log).toEqual(["started"]);
    expect(lock.lease?.spec).toEqual({
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      acquireTime: "2026-01-01T00:00:00.123000Z",
      renewTime: "2026-01-01T00:00:00.123000Z",
      leaseTransitions: 0,
    });
  });

  it("lets only one of two candidates lead, and keeps it leading while it renews", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    const a = candidate(lock, clock, "a");
    await settle();
    const b = candidate(lock, clock, "b");
    for (let i = 0; i < 30; i++) {
      await clock.advance(1_000);
      expect([a.elector.isLeader(), b.elector.isLeader()]).toEqual([true, false]);
    }
    expect(lock.holder).toBe("a");
    expect(lock.lease?.spec?.renewTime).toBe(formatMicroTime(clock.now()));
    expect(b.elector.observedHolder).toBe("a");
    expect(b.log).toEqual([]);
  });

  it("hands over at once when the leader stops and releases the Lease", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    const a = candidate(lock, clock, "a");
    await settle();
    const b = candidate(lock, clock, "b");
    await clock.advance(5_000);
    await a.elector.stop();
    expect(a.log).toEqual(["started", "stopped:stopping"]);
    expect(lock.holder).toBe("");
    expect(lock.lease?.spec?.leaseDurationSeconds).toBe(1);
    await clock.advance(2_000); // b's next retry, far sooner than the 15 s lease duration
    expect(b.elector.isLeader()).toBe(true);
    expect(lock.holder).toBe("b");
    expect(lock.lease?.spec?.leaseTransitions).toBe(1);
  });

  it("replaces a leader that stopped without releasing only once the lease duration has passed", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    const a = candidate(lock, clock, "a");
    await settle();
    const b = candidate(lock, clock, "b");
    await clock.advance(4_000);
    const lastRenew = clock.now();
    await a.elector.stop({ release: false });
    expect(lock.holder).toBe("a");
    // b saw the last renewal by the time it was written; it must wait 15 s from then.
    await clock.advance(14_000);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(4_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(Date.parse(lock.lease!.spec!.acquireTime!) - lastRenew).toBeGreaterThanOrEqual(15_000);
  });

  it("stops leading when it cannot renew within the renew deadline", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    const a = candidate(lock, clock, "a");
    await settle();
    lock.down = true;
    await clock.advance(8_000);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(2_000); // 10 s without a renewal
    expect(a.elector.isLeader()).toBe(false);
    expect(a.log).toEqual(["started", "stopped:lost"]);
  });

  it("steps down at once when another candidate holds the Lease", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    const a = candidate(lock, clock, "a");
    await settle();
    lock.lease = { ...lock.lease!, spec: { ...lock.lease!.spec, holderIdentity: "intruder" } };
    await clock.advance(2_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.log).toEqual(["started", "stopped:lost"]);
    expect(lock.holder).toBe("intruder");
  });

  it("campaigns again after losing and leads again once the Lease is free", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    const a = candidate(lock, clock, "a");
    await settle();
    lock.down = true;
    await clock.advance(10_000);
    expect(a.elector.isLeader()).toBe(false);
    lock.down = false;
    await clock.advance(2_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.log).toEqual(["started", "stopped:lost", "started"]);
  });

  it("releases the Lease only after onStoppedLeading has finished", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    let finish!: () => void;
    const holderWhenStopped: Array<string | null | undefined> = [];
    const a = candidate(lock, clock, "a", {
      onStoppedLeading: () =>
        new Promise<void>((resolve) => {
          holderWhenStopped.push(lock.holder);
          finish = resolve;
        }),
    });
    await settle();
    const stopping = a.elector.stop();
    await settle();
    expect(lock.holder).toBe("a");
    finish();
    await stopping;
    expect(holderWhenStopped).toEqual(["a"]);
    expect(lock.holder).toBe("");
  });

  it("keeps renewing the Lease while in-flight work winds down, so no successor starts beside it", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    let finish!: () => void;
    const a = candidate(lock, clock, "a", { onStoppedLeading: () => new Promise<void>((resolve) => (finish = resolve)) });
    await settle();
    const b = candidate(lock, clock, "b");
    const stopping = a.elector.stop();
    await clock.advance(40_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(b.elector.isLeader()).toBe(false);
    expect(lock.holder).toBe("a");
    expect(lock.lease?.spec?.renewTime).toBe(formatMicroTime(clock.now()));
    finish();
    await stopping;
    expect(lock.holder).toBe("");
    await clock.advance(2_000);
    expect(b.elector.isLeader()).toBe(true);
  });

  it("leaves the Lease to expire when asked to keep it", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    const holder: { elector?: LeaderElector } = {};
    const a = candidate(lock, clock, "a", {
      onStoppedLeading: () => {
        holder.elector?.keepLease();
      },
    });
    holder.elector = a.elector;
    await settle();
    await a.elector.stop();
    expect(lock.holder).toBe("a");
  });

  it("writes nothing while another candidate holds the Lease", async () => {
    const clock = new ManualClock();
    const lock = new MemoryLeaseLock();
    candidate(lock, clock, "a");
    await settle();
    await clock.advance(2_000);
    const writesByA = lock.writes;
    const bLock = new MemoryLeaseLock();
    bLock.lease = lock.lease;
    candidate(bLock, clock, "b");
    await clock.advance(10_000);
    expect(bLock.writes).toBe(0);
    expect(writesByA).toBeGreaterThan(0);
  });

  it("refuses timings where the renew deadline is not below the lease duration, or the retry period not below the deadline", () => {
    const lock = new MemoryLeaseLock();
    expect(() => new LeaderElector({ lock, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(/leaseDuration/);
    expect(() => new LeaderElector({ lock, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(/retryPeriod/);
  });

  it("builds identities from the pod name and a random suffix", () => {
    const a = defaultIdentity({ POD_NAME: "keyward-controller-7d9f" });
    const b = defaultIdentity({ POD_NAME: "keyward-controller-7d9f" });
    expect(a).toMatch(/^keyward-controller-7d9f_[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
  });
});
