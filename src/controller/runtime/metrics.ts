// Prometheus metrics of the runtime, in a Registry of their own (nothing global).
// Labels are names of controllers, resources and verbs: never object names,
// never anything from an object's data.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Informer, RestartReason } from "../../kube/informer.ts";
import type { WriteCounter } from "../../kube/writes.ts";
import type { ControllerObserver, ReconcileResultLabel } from "./controller.ts";
import type { WorkQueue } from "./queue.ts";

export interface RuntimeMetricsOptions {
  registry?: Registry;
  /** Also export process metrics (CPU, memory, event loop lag, GC). Default true. */
  processMetrics?: boolean;
}

export class RuntimeMetrics implements ControllerObserver {
  readonly registry: Registry;
  readonly #reconciles: Counter<"controller" | "result">;
  readonly #reconcileErrors: Counter<"controller">;
  readonly #reconcileSeconds: Histogram<"controller">;
  readonly #writes: Counter<"verb" | "resource">;
  readonly #leader: Gauge;
  readonly #informerRestarts: Counter<"informer" | "reason">;
  readonly #queues = new Map<string, () => WorkQueue | undefined>();
  readonly #informers = new Map<string, Informer>();

  constructor(opts: RuntimeMetricsOptions = {}) {
    this.registry = opts.registry ?? new Registry();
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "keyward_" });

    this.#reconciles = new Counter({
      name: "keyward_reconcile_total",
      help: "Reconciles by controller and result (success, backoff, error).",
      labelNames: ["controller", "result"],
      registers,
    });
    this.#reconcileErrors = new Counter({
      name: "keyward_reconcile_errors_total",
      help: "Reconciles that failed, by controller.",
      labelNames: ["controller"],
      registers,
    });
    this.#reconcileSeconds = new Histogram({
      name: "keyward_reconcile_duration_seconds",
      help: "Time a reconcile took, by controller.",
      labelNames: ["controller"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#writes = new Counter({
      name: "keyward_api_writes_total",
      help: "Write requests sent to the API server, by verb (create, update, patch, apply, delete) and resource.",
      labelNames: ["verb", "resource"],
      registers,
    });
    this.#leader = new Gauge({
      name: "keyward_leader",
      help: "1 while this replica holds the leader Lease, else 0.",
      registers,
    });
    this.#leader.set(0);
    this.#informerRestarts = new Counter({
      name: "keyward_informer_restarts_total",
      help: "Informer watch restarts, by informer and reason (watch-ended, gone, error).",
      labelNames: ["informer", "reason"],
      registers,
    });

    const queues = this.#queues;
    new Gauge({
      name: "keyward_workqueue_depth",
      help: "Keys ready to be reconciled, by controller.",
      labelNames: ["controller"],
      registers,
      collect() {
        this.reset();
        for (const [name, q] of queues) this.set({ controller: name }, q()?.len() ?? 0);
      },
    });
    new Gauge({
      name: "keyward_workqueue_delayed",
      help: "Keys waiting for a requeueAfter or backoff delay, by controller.",
      labelNames: ["controller"],
      registers,
      collect() {
        this.reset();
        for (const [name, q] of queues) this.set({ controller: name }, q()?.delayedCount() ?? 0);
      },
    });
    new Gauge({
      name: "keyward_workqueue_in_flight",
      help: "Keys being reconciled now, by controller.",
      labelNames: ["controller"],
      registers,
      collect() {
        this.reset();
        for (const [name, q] of queues) this.set({ controller: name }, q()?.processingCount() ?? 0);
      },
    });
    const informers = this.#informers;
    new Gauge({
      name: "keyward_informer_synced",
      help: "1 once the informer's cache has loaded its first list, by informer.",
      labelNames: ["informer"],
      registers,
      collect() {
        this.reset();
        for (const [name, inf] of informers) this.set({ informer: name }, inf.hasSynced() ? 1 : 0);
      },
    });
    new Gauge({
      name: "keyward_informer_objects",
      help: "Objects in the informer's cache, by informer.",
      labelNames: ["informer"],
      registers,
      collect() {
        this.reset();
        for (const [name, inf] of informers) this.set({ informer: name }, inf.size);
      },
    });
  }

  reconciled(controller: string, outcome: ReconcileResultLabel, seconds: number): void {
    this.#reconciles.inc({ controller, result: outcome });
    if (outcome === "error") this.#reconcileErrors.inc({ controller });
    this.#reconcileSeconds.observe({ controller }, seconds);
  }

  setLeader(leading: boolean): void {
    this.#leader.set(leading ? 1 : 0);
  }

  /** Exports the depth of a controller's queue (looked up at scrape time: the queue changes per run). */
  trackQueue(controller: string, queue: () => WorkQueue | undefined): void {
    this.#queues.set(controller, queue);
  }

  trackWrites(counter: WriteCounter): () => void {
    return counter.onWrite((verb, resource) => { this.#writes.inc({ verb, resource }); });
  }

  trackInformer(informer: Informer): () => void {
    this.#informers.set(informer.description, informer);
    return informer.onRestart((reason: RestartReason) => { this.#informerRestarts.inc({ informer: informer.description, reason }); });
  }

  /** The exposition text, as served on /metrics. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
