// The verifier report: the verifier says, in a Lease of its tenant's namespace, which bundle
// generation it enforces (src/model/verifier-report.ts). One write when the generation in use
// changes, and a heartbeat (spec.renewTime) once per interval without a change; the controller
// counts a verifier live while its heartbeat is recent. Reporting never stands in the way of
// requests: it runs beside them, one write at a time, and a verifier whose writes fail (no
// RBAC, API server away) enforces its bundle all the same and retries with back-off.
//
// It reads one thing from the bundle side: the generation in use (`generation()`), and is
// told when it may have changed (`changed()`).

import { isAlreadyExists, isNotFound, ForbiddenError, KubeApiError } from "../../kube/errors.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { Clock, TimerHandle } from "../../kube/clock.ts";
import { Resources } from "../../kube/resources.ts";
import { KEYWARD_RELEASE } from "../../model/release.ts";
import {
  microTime,
  VERIFIER_REPORT_LABEL,
  VERIFIER_REPORT_VERSION,
  verifierReportName,
  VerifierReportAnnotations,
  type LeaseObject,
} from "../../model/verifier-report.ts";
import type { Logger } from "../log.ts";

export type ReportResult = "ok" | "error";

export interface ReporterOptions {
  client: KubeClient;
  /** The tenant: the Lease goes into this namespace. */
  namespace: string;
  /** The Pod the verifier runs in. */
  pod: string;
  /** The Pod's uid: the Lease is owned by the Pod and goes with it. Null: no owner. */
  podUid: string | null;
  /** The bundle generation in use; null before the first bundle. */
  generation: () => number | null;
  /** A heartbeat once per this interval without another write. */
  heartbeatMs: number;
  clock: Clock;
  logger: Logger;
  /** Counts every write by result. */
  count: (result: ReportResult) => void;
  /** Jitter of retries, in [0, 1). Default Math.random. */
  random?: () => number;
}

/**
 * The first retry after a failed write; it doubles up to the heartbeat interval, and each is
 * jittered (half to all of it) so that verifiers refused together (429 from the API server's
 * fairness limits after a bundle change) do not come back together.
 */
const FIRST_RETRY_MS = 250;

export class VerifierReporter {
  readonly #opts: ReporterOptions;
  readonly #name: string;
  /** The generation of the last write that succeeded; undefined before the first. */
  #reported: number | null | undefined = undefined;
  #enforcedSince: string | null = null;
  #sinceFor: number | null = null;
  #exists = false;
  #writing: Promise<void> | null = null;
  #again = false;
  #timer: TimerHandle | null = null;
  #failures = 0;
  #stopped = false;

  constructor(opts: ReporterOptions) {
    this.#opts = opts;
    this.#name = verifierReportName(opts.pod);
  }

  /** The Lease's name. */
  get name(): string {
    return this.#name;
  }

  /** Reports at once, then on change and heartbeat. */
  start(): void {
    this.#kick();
  }

  /** The generation in use may have changed: report it unless it is the one reported. */
  changed(): void {
    if (this.#stopped || this.#opts.generation() === this.#reported) return;
    this.#kick();
  }

  /** No more writes; resolves once a write in flight has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = null;
    await this.#writing;
  }

  #kick(): void {
    if (this.#stopped) return;
    if (this.#writing !== null) {
      this.#again = true;
      return;
    }
    if (this.#timer !== null) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#writing = this.#write().finally(() => {
      this.#writing = null;
      if (this.#again) {
        this.#again = false;
        this.changed();
      }
    });
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer !== null) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = this.#opts.clock.setTimeout(() => {
      this.#timer = null;
      this.#kick();
    }, ms);
  }

  async #write(): Promise<void> {
    const { client, namespace, clock } = this.#opts;
    const generation = this.#opts.generation();
    if (generation !== this.#sinceFor) {
      this.#sinceFor = generation;
      this.#enforcedSince = generation === null ? null : new Date(clock.now()).toISOString();
    }
    const lease = this.#lease(generation);
    try {
      if (this.#exists) {
        try {
          await client.mergePatch(Resources.leases, { namespace, name: this.#name }, patchOf(lease));
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // Deleted meanwhile (by hand, or with a Pod of the same name): create it again.
          await client.create(Resources.leases, lease);
        }
      } else {
        try {
          await client.create(Resources.leases, lease);
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          // A restart of the container: the Pod's Lease is there already.
          await client.mergePatch(Resources.leases, { namespace, name: this.#name }, patchOf(lease));
        }
        this.#exists = true;
      }
      this.#reported = generation;
      this.#opts.count("ok");
      if (this.#failures > 0) this.#opts.logger.info({ event: "report_resumed", lease: this.#name, generation }, "verifier report written again");
      this.#failures = 0;
      this.#schedule(this.#opts.heartbeatMs);
    } catch (err) {
      this.#opts.count("error");
      this.#failures++;
      const backoff = Math.min(this.#opts.heartbeatMs, FIRST_RETRY_MS * 2 ** Math.min(this.#failures - 1, 20));
      const retryInMs = Math.round(backoff * (0.5 + 0.5 * (this.#opts.random ?? Math.random)()));
      // One line per streak of failures, not one per retry.
      if (this.#failures === 1) this.#opts.logger.warn({ event: "report_failed", lease: this.#name, status: err instanceof KubeApiError ? err.status : undefined, retryInMs }, failureMessage(err, namespace, this.#name));
      this.#schedule(retryInMs);
    }
  }

  #lease(generation: number | null): LeaseObject {
    const { namespace, pod, podUid, heartbeatMs, clock } = this.#opts;
    const annotations: Record<string, string> = {
      [VerifierReportAnnotations.pod]: pod,
      [VerifierReportAnnotations.version]: KEYWARD_RELEASE,
    };
    if (generation !== null) annotations[VerifierReportAnnotations.generation] = String(generation);
    if (this.#enforcedSince !== null) annotations[VerifierReportAnnotations.enforcedSince] = this.#enforcedSince;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: this.#name,
        namespace,
        labels: { [VERIFIER_REPORT_LABEL]: VERIFIER_REPORT_VERSION, "app.kubernetes.io/name": "keyward", "app.kubernetes.io/component": "verifier" },
        annotations,
        ...(podUid === null ? {} : { ownerReferences: [{ apiVersion: "v1", kind: "Pod", name: pod, uid: podUid }] }),
      },
      spec: {
        holderIdentity: pod,
        // A hint for readers; the controller uses its own TTL, never this.
        leaseDurationSeconds: Math.max(1, Math.ceil((3 * heartbeatMs) / 1000)),
        renewTime: microTime(clock.now()),
      },
    };
  }
}

/** The merge patch that makes an existing Lease say what `lease` says. */
function patchOf(lease: LeaseObject): object {
  const annotations: Record<string, string | null> = { ...lease.metadata.annotations };
  if (annotations[VerifierReportAnnotations.generation] === undefined) annotations[VerifierReportAnnotations.generation] = null;
  if (annotations[VerifierReportAnnotations.enforcedSince] === undefined) annotations[VerifierReportAnnotations.enforcedSince] = null;
  return { metadata: { labels: lease.metadata.labels, annotations }, spec: lease.spec };
}

function failureMessage(err: unknown, namespace: string, name: string): string {
  if (err instanceof ForbiddenError) {
    return `not allowed to write the verifier report Lease ${namespace}/${name}: grant the verifier's service account create and patch on leases.coordination.k8s.io (config/verifier/role.yaml), or turn reporting off with --report=false; requests are still checked`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `writing the verifier report Lease ${namespace}/${name} failed: ${message}; retrying, requests are still checked`;
}
