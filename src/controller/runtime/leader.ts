// Leader election on a coordination.k8s.io/v1 Lease, with the algorithm of
// client-go's leaderelection package:
//
// - a candidate takes the Lease when it is free (no holder: released) or when its
//   record has not changed for leaseDuration as measured on the candidate's own
//   clock since it first saw that record (no trust in other machines' clocks);
// - every write carries the resourceVersion read, so two candidates cannot both win;
// - the leader renews every retryPeriod and gives up leading when it could not
//   renew for renewDeadline (< leaseDuration, so it stops before anyone may take over);
// - on a graceful stop the leader first stops its work, then releases the Lease
//   (empty holder), so a successor takes over at once.

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { KubeClient } from "../../kube/client.ts";
import { type Clock, sleep, systemClock } from "../../kube/clock.ts";
import { isAlreadyExists, isConflict } from "../../kube/errors.ts";
import { errorFields, silentLogger, type Logger } from "../../kube/logger.ts";
import { Resources } from "../../kube/resources.ts";
import type { Lease } from "../../kube/types.ts";

/** Storage of the Lease; `leaseLock` is the API one, tests may use an in-memory one. */
export interface LeaseLock {
  readonly description: string;
  get(signal?: AbortSignal): Promise<Lease | undefined>;
  /** Fails with AlreadyExistsError when the Lease exists. */
  create(lease: Lease, signal?: AbortSignal): Promise<Lease>;
  /** Fails with ConflictError when metadata.resourceVersion is stale. */
  update(lease: Lease, signal?: AbortSignal): Promise<Lease>;
}

export function leaseLock(client: KubeClient, namespace: string, name: string): LeaseLock {
  const ref = { namespace, name };
  return {
    description: `lease ${namespace}/${name}`,
    get: (signal) => client.find<Lease>(Resources.leases, ref, { signal }),
    create: (lease, signal) => client.create(Resources.leases, { ...lease, metadata: { ...lease.metadata, name, namespace } }, { signal }),
    update: (lease, signal) => client.replace(Resources.leases, lease, { signal }),
  };
}

/** "<pod name>_<random>": unique per process even when a pod restarts in place. */
export function defaultIdentity(env: Record<string, string | undefined> = process.env): string {
  const pod = env.POD_NAME !== undefined && env.POD_NAME !== "" ? env.POD_NAME : hostname();
  return `${pod}_${randomBytes(6).toString("hex")}`;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits, UTC. */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export interface LeaderElectorOptions {
  lock: LeaseLock;
  /** Unique per candidate. Default: defaultIdentity(). */
  identity?: string;
  /** How long a non-renewed Lease stays someone's. Default 15 s. */
  leaseDurationMs?: number;
  /** The leader stops leading when it could not renew for this long. Default 10 s. */
  renewDeadlineMs?: number;
  /** Between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  /** Called on becoming leader. `signal` aborts when leadership ends. */
  onStartedLeading?: (signal: AbortSignal) => void | Promise<void>;
  /**
   * Called when leadership ends (lost or stopping) and awaited before the Lease
   * is released. If work may still be writing, call keepLease() before
   * returning: the Lease then expires instead of being released.
   */
  onStoppedLeading?: (reason: "lost" | "stopping") => void | Promise<void>;
  /** Called whenever the observed holder changes (empty string: nobody). */
  onNewLeader?: (identity: string) => void;
}

export class LeaderElector {
  readonly identity: string;
  readonly #lock: LeaseLock;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #opts: LeaderElectorOptions;

  #observed: { key: string; lease: Lease } | undefined;
  #observedAt = 0;
  #observedHolder: string | undefined;
  #leading = false;
  #stop = new AbortController();
  #running: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #releaseOnStop = true;

  constructor(opts: LeaderElectorOptions) {
    this.identity = opts.identity ?? defaultIdentity();
    this.#lock = opts.lock;
    this.#leaseMs = opts.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.#retryMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.#leaseMs > this.#renewDeadlineMs)) {
      throw new RangeError(`leader election: leaseDuration (${this.#leaseMs} ms) must be greater than renewDeadline (${this.#renewDeadlineMs} ms)`);
    }
    if (!(this.#renewDeadlineMs > this.#retryMs) || !(this.#retryMs > 0)) {
      throw new RangeError(`leader election: renewDeadline (${this.#renewDeadlineMs} ms) must be greater than retryPeriod (${this.#retryMs} ms) > 0`);
    }
    if (this.identity === "") throw new RangeError("leader election: identity must not be empty");
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#log = opts.logger ?? silentLogger;
    this.#opts = opts;
  }

  /** The Lease will not be released when this stop ends leadership: it expires after its duration. */
  keepLease(): void {
    this.#releaseOnStop = false;
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last seen on the Lease ("" when released, undefined before the first read). */
  get observedHolder(): string | undefined {
    return this.#observedHolder;
  }

  /** Campaigns, leads, and campaigns again after losing, until `stop`. */
  run(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  /**
   * Stops campaigning. If leading: ends leadership (awaiting onStoppedLeading),
   * then releases the Lease so a successor takes over without waiting. With
   * `release: false` the Lease is left to expire (what a crash amounts to).
   */
  stop(opts: { release?: boolean } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      if (opts.release === false) this.#releaseOnStop = false;
      this.#stop.abort();
      await this.#running;
    })();
    return this.#stopping;
  }

  async #loop(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      const acquired = await this.#acquire(stop);
      if (!acquired) break;
      await this.#lead(stop);
    }
  }

  /** Tries every retryPeriod (with jitter) until the Lease is ours. False when stopped first. */
  async #acquire(stop: AbortSignal): Promise<boolean> {
    this.#log.info({ lease: this.#lock.description, identity: this.identity }, "campaigning for leadership");
    while (!stop.aborted) {
      if (await this.#tryAcquireOrRenew(stop)) return true;
      await sleep(this.#clock, this.#retryMs * (1 + 0.2 * this.#random()), stop);
    }
    return false;
  }

  async #lead(stop: AbortSignal): Promise<void> {
    const leadAbort = new AbortController();
    this.#leading = true;
    this.#log.info({ lease: this.#lock.description, identity: this.identity }, "became leader");
    const started = this.#safe(() => this.#opts.onStartedLeading?.(leadAbort.signal), "onStartedLeading");

    let lastRenew = this.#clock.now();
    let reason: "lost" | "stopping" = "stopping";
    const stopped = (): boolean => stop.aborted;
    while (!stopped()) {
      await sleep(this.#clock, this.#retryMs, stop);
      if (stopped()) break;
      const result = await this.#renew(stop);
      if (result === "renewed") {
        lastRenew = this.#clock.now();
        continue;
      }
      if (result === "taken" || this.#clock.now() - lastRenew >= this.#renewDeadlineMs) {
        reason = "lost";
        this.#log.warn(
          { lease: this.#lock.description, identity: this.identity, holder: this.#observedHolder ?? null },
          result === "taken" ? "leadership lost: another candidate holds the lease" : "leadership lost: could not renew within the renew deadline",
        );
        break;
      }
    }

    leadAbort.abort();
    this.#leading = false;
    await started;
    const windDown = (async () => {
      try {
        await this.#opts.onStoppedLeading?.(reason);
      } catch (err) {
        this.#releaseOnStop = false;
        this.#log.error({ lease: this.#lock.description, err: errorFields(err) }, "onStoppedLeading threw; the lease is not released");
      }
    })();
    if (reason === "stopping") {
      // Keep the Lease while in-flight work finishes, so no successor starts beside it.
      await this.#holdUntil(windDown, lastRenew);
      if (this.#releaseOnStop) await this.#release();
    }
    await windDown;
  }

  async #holdUntil(work: Promise<void>, lastRenew: number): Promise<void> {
    const finished = new AbortController();
    void work.finally(() => { finished.abort(); });
    const signal = finished.signal;
    const isFinished = (): boolean => signal.aborted;
    while (!isFinished()) {
      await sleep(this.#clock, this.#retryMs, signal);
      if (isFinished()) return;
      if (await this.#tryAcquireOrRenew(new AbortController().signal, true)) {
        lastRenew = this.#clock.now();
      } else if (this.#clock.now() - lastRenew >= this.#renewDeadlineMs) {
        this.#releaseOnStop = false;
        this.#log.error({ lease: this.#lock.description, identity: this.identity }, "could not keep the lease while stopping; in-flight work may overlap a successor");
        return;
      }
    }
  }

  async #renew(stop: AbortSignal): Promise<"renewed" | "failed" | "taken"> {
    if (await this.#tryAcquireOrRenew(stop, true)) return "renewed";
    const holder = this.#observedHolder;
    return holder !== undefined && holder !== "" && holder !== this.identity ? "taken" : "failed";
  }

  /** One attempt; true when the Lease is ours afterwards. With renewOnly, never takes it from another. Never throws. */
  async #tryAcquireOrRenew(signal: AbortSignal, renewOnly = false): Promise<boolean> {
    const now = this.#clock.now();
    const durationSeconds = Math.ceil(this.#leaseMs / 1000);
    try {
      const current = await this.#lock.get(signal);
      if (current === undefined) {
        const created = await this.#lock.create(
          {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: {},
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: formatMicroTime(now),
              renewTime: formatMicroTime(now),
              leaseTransitions: 0,
            },
          },
          signal,
        );
        this.#observe(created, this.#clock.now());
        return true;
      }
      this.#observe(current, now);
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? "";
      if (holder !== "" && holder !== this.identity) {
        const leaseMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
        if (this.#observedAt + leaseMs > now) return false;
      }
      if (holder !== this.identity && renewOnly) return false;
      const next: Lease = {
        ...current,
        spec:
          holder === this.identity
            ? { ...spec, renewTime: formatMicroTime(now), leaseDurationSeconds: durationSeconds }
            : {
                holderIdentity: this.identity,
                leaseDurationSeconds: durationSeconds,
                acquireTime: formatMicroTime(now),
                renewTime: formatMicroTime(now),
                leaseTransitions: (spec.leaseTransitions ?? 0) + 1,
              },
      };
      const updated = await this.#lock.update(next, signal);
      this.#observe(updated, this.#clock.now());
      return true;
    } catch (err) {
      if (!signal.aborted && !isConflict(err) && !isAlreadyExists(err)) {
        this.#log.warn({ lease: this.#lock.description, err: errorFields(err) }, "lease request failed");
      }
      return false;
    }
  }

  #observe(lease: Lease, now: number): void {
    const spec = lease.spec ?? {};
    const key = JSON.stringify([spec.holderIdentity ?? "", spec.renewTime ?? "", spec.acquireTime ?? "", spec.leaseTransitions ?? 0]);
    if (this.#observed?.key !== key) this.#observedAt = now;
    this.#observed = { key, lease };
    const holder = spec.holderIdentity ?? "";
    if (holder !== this.#observedHolder) {
      this.#observedHolder = holder;
      const notify = this.#opts.onNewLeader;
      if (notify !== undefined) void this.#safe(() => { notify(holder); }, "onNewLeader");
    }
  }

  /** Gives the Lease up: empty holder, so candidates take it on their next try. */
  async #release(): Promise<void> {
    const observed = this.#observed?.lease;
    if (observed?.spec?.holderIdentity !== this.identity) return;
    const now = this.#clock.now();
    try {
      const released = await this.#lock.update({
        ...observed,
        spec: {
          ...observed.spec,
          holderIdentity: "",
          leaseDurationSeconds: 1,
          acquireTime: formatMicroTime(now),
          renewTime: formatMicroTime(now),
        },
      });
      this.#observe(released, now);
      this.#log.info({ lease: this.#lock.description, identity: this.identity }, "released the lease");
    } catch (err) {
      this.#log.warn({ lease: this.#lock.description, err: errorFields(err) }, "could not release the lease; it expires after its duration");
    }
  }

  async #safe(fn: () => unknown, what: string): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.#log.error({ lease: this.#lock.description, err: errorFields(err) }, `${what} threw`);
    }
  }
}
