// Prometheus metrics of the verifier, on a registry of its own (never the global one).

import { Counter, Gauge, Histogram, Registry } from "prom-client";

export type DecisionResult = "allow" | "deny" | "unavailable";

export class VerifierMetrics {
  readonly registry: Registry;
  /**
   * Decisions not yet added to `decisions`, by result then code: counting a request is a
   * plain map update, and the labelled counter is brought up to date when it is read.
   */
  readonly #pending: Record<DecisionResult, Map<string, number>> = { allow: new Map(), deny: new Map(), unavailable: new Map() };
  readonly decisions: Counter<"result" | "code">;
  readonly decisionDuration: Histogram;
  readonly bundleGeneration: Gauge;
  readonly bundleAge: Gauge;
  readonly bundleRevocations: Gauge;
  readonly bundleSegments: Gauge;
  readonly reloadFailures: Counter<"reason">;
  readonly upstreamErrors: Counter<"kind">;
  readonly ready: Gauge;
  readonly reportWrites: Counter<"result">;

  /**
   * Both functions are read at scrape time. `bundleAgeSeconds`: seconds since the bundle was
   * last loaded or confirmed, null before the first. `ready`: requests can be checked.
   */
  constructor(bundleAgeSeconds: () => number | null, ready: () => boolean = () => bundleAgeSeconds() !== null) {
    this.registry = new Registry();
    const registers = [this.registry];
    this.decisions = new Counter({
      name: "keyward_verifier_decisions_total",
      help: "Requests decided, by result (allow, deny, unavailable) and code (OK or the error code).",
      labelNames: ["result", "code"],
      registers,
      collect: () => {
        this.#flushDecisions();
      },
    });
    this.decisionDuration = new Histogram({
      name: "keyward_verifier_decision_duration_seconds",
      help: "Time to check a request's token and policies.",
      buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
      registers,
    });
    this.bundleGeneration = new Gauge({
      name: "keyward_verifier_bundle_generation",
      help: "Generation of the bundle in use; 0 until one has loaded (see keyward_verifier_ready).",
      registers,
    });
    this.bundleRevocations = new Gauge({
      name: "keyward_verifier_bundle_revocations",
      help: "Revocations the bundle in use enforces: those of bundle.json and of every revocation segment it names; 0 until one has loaded.",
      registers,
    });
    this.bundleSegments = new Gauge({
      name: "keyward_verifier_bundle_segments",
      help: "Revocation segments (keyward-bundle-revoked-<n> ConfigMaps) the bundle in use names, all read and matching; 0 until one has loaded.",
      registers,
    });
    this.bundleAge = new Gauge({
      name: "keyward_verifier_bundle_age_seconds",
      help: "Seconds since the bundle in use was last loaded or confirmed by its source; 0 until one has loaded.",
      registers,
      collect() {
        const age = bundleAgeSeconds();
        if (age === null) this.reset();
        else this.set(age);
      },
    });
    this.ready = new Gauge({
      name: "keyward_verifier_ready",
      help: "1 while the verifier can check requests (a bundle is loaded, not older than --max-bundle-age, not draining); else 0 and every request is answered 503.",
      registers,
      collect() {
        this.set(ready() ? 1 : 0);
      },
    });
    this.reloadFailures = new Counter({
      name: "keyward_verifier_bundle_reload_failures_total",
      help: "Bundles that could not be used (the last good one stays), by reason code.",
      labelNames: ["reason"],
      registers,
    });
    this.reportWrites = new Counter({
      name: "keyward_verifier_report_writes_total",
      help: "Writes of the verifier report Lease (generation changes and heartbeats), by result (ok, error).",
      labelNames: ["result"],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: "keyward_verifier_upstream_errors_total",
      help: "Proxy mode: requests the workload did not answer, by kind (connect, timeout, reset).",
      labelNames: ["kind"],
      registers,
    });
  }

  /** Counts one decision in `keyward_verifier_decisions_total{result, code}`. */
  countDecision(result: DecisionResult, code: string): void {
    const counts = this.#pending[result];
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }

  #flushDecisions(): void {
    for (const result of ["allow", "deny", "unavailable"] as const) {
      const counts = this.#pending[result];
      for (const [code, n] of counts) this.decisions.inc({ result, code }, n);
      counts.clear();
    }
  }
}
