// The manager wires the runtime together:
//
//   start:    health and metrics servers → informers → wait for caches to sync
//             → leader election → controllers run only while leading
//   shutdown: (SIGTERM/SIGINT) not ready any more → stop taking work → let the
//             in-flight reconciles finish → release the Lease → stop informers
//             → close the servers
//
// /healthz answers 200 while the manager runs; /readyz answers 200 once every
// informer has synced (and until shutdown starts).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { KubeClient } from "../../kube/client.ts";
import { type Clock, sleep, systemClock } from "../../kube/clock.ts";
import { Informer, listWatch, type InformerOptions, type ListWatchOptions } from "../../kube/informer.ts";
import { errorFields, silentLogger, type Logger } from "../../kube/logger.ts";
import { resourceName, type Resource } from "../../kube/resources.ts";
import type { KubeObject } from "../../kube/types.ts";
import { Controller, type ControllerOptions } from "./controller.ts";
import { EventRecorder, type EventRecorderOptions } from "./events.ts";
import { LeaderElector, leaseLock, type LeaderElectorOptions } from "./leader.ts";
import { RuntimeMetrics } from "./metrics.ts";

export interface ListenOptions {
  /** 0 picks a free port (see Manager.healthAddress / metricsAddress). */
  port: number;
  /** Default "0.0.0.0" (probes and scrapers reach the pod IP). */
  host?: string;
}

export interface LeaderElectionOptions extends Pick<LeaderElectorOptions, "identity" | "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs"> {
  /** Namespace of the Lease (the controller's own). */
  namespace: string;
  /** Lease name. Default "keyward-controller". */
  name?: string;
}

export interface ManagerOptions {
  client: KubeClient;
  logger?: Logger;
  clock?: Clock;
  /** Leader election on a Lease; false runs the controllers at once (a single replica, or tests). */
  leaderElection: LeaderElectionOptions | false;
  health?: ListenOptions | false;
  metrics?: ListenOptions | false;
  /** Defaults for the informers the manager creates (resync period, backoff). */
  informerDefaults?: InformerOptions;
  /** How long shutdown waits for in-flight reconciles. Past it, the Lease is not released (it expires). Default 25 s. */
  shutdownTimeoutMs?: number;
  /** Metrics to record into; default a fresh RuntimeMetrics with its own Registry. */
  runtimeMetrics?: RuntimeMetrics;
  /** Name of the Event source (source.component). Default "keyward-controller". */
  component?: string;
}

type State = "new" | "starting" | "running" | "stopping" | "stopped";

export class Manager {
  readonly client: KubeClient;
  readonly metrics: RuntimeMetrics;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #opts: ManagerOptions;
  readonly #informers = new Map<string, Informer>();
  readonly #controllers: Controller[] = [];
  readonly #elector: LeaderElector | undefined;
  readonly #untrack: Array<() => void> = [];
  #state: State = "new";
  #leading = false;
  #healthServer: Server | undefined;
  #metricsServer: Server | undefined;
  #shutdown: Promise<void> | undefined;
  #startAbort = new AbortController();
  #electorRun: Promise<void> | undefined;
  #done: { promise: Promise<void>; resolve: () => void };
  #failed: unknown;

  constructor(opts: ManagerOptions) {
    this.client = opts.client;
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#clock = opts.clock ?? systemClock;
    this.metrics = opts.runtimeMetrics ?? new RuntimeMetrics();
    this.#untrack.push(this.metrics.trackWrites(opts.client.writes));
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.#done = { promise, resolve };
    if (opts.leaderElection !== false) {
      const le = opts.leaderElection;
      this.#elector = new LeaderElector({
        lock: leaseLock(opts.client, le.namespace, le.name ?? "keyward-controller"),
        identity: le.identity,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        clock: this.#clock,
        logger: this.#log,
        onStartedLeading: () => { this.#startControllers(); },
        onStoppedLeading: async (reason) => {
          const finished = await this.#stopControllers(reason === "lost");
          if (!finished) this.#elector?.keepLease();
        },
        onNewLeader: (holder) => { this.#log.info({ holder: holder === "" ? null : holder }, "leader observed"); },
      });
    }
  }

  /**
   * The informer for `resource` with these options, created on first use and
   * shared by every controller that asks for the same thing.
   */
  informer<T extends KubeObject = KubeObject>(resource: Resource, opts: ListWatchOptions = {}): Informer<T> {
    const id = JSON.stringify([resourceName(resource), opts.namespace ?? "", opts.labelSelector ?? "", opts.fieldSelector ?? "", opts.filter === undefined ? "" : "filtered"]);
    let inf = this.#informers.get(id);
    if (inf === undefined) {
      inf = new Informer(listWatch(this.client, resource, opts), { clock: this.#clock, logger: this.#log, ...this.#opts.informerDefaults });
      this.#informers.set(id, inf);
      this.#untrack.push(this.metrics.trackInformer(inf));
      if (this.#state === "starting" || this.#state === "running") inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  /** Adds a controller; it runs while this replica leads. */
  addController(opts: ControllerOptions): Controller {
    if (this.#controllers.some((c) => c.name === opts.name)) throw new Error(`a controller named "${opts.name}" is already registered`);
    const controller = new Controller({ clock: this.#clock, logger: this.#log, observer: this.metrics, ...opts });
    this.#controllers.push(controller);
    this.metrics.trackQueue(controller.name, () => controller.queue);
    if (this.#state === "running" && this.#leading) controller.start();
    return controller;
  }

  /** An Event recorder whose reasons are restricted to `Reason`. */
  eventRecorder<Reason extends string = string>(opts: Partial<Omit<EventRecorderOptions, "client">> = {}): EventRecorder<Reason> {
    return new EventRecorder<Reason>({
      client: this.client,
      component: this.#opts.component ?? "keyward-controller",
      instance: this.#elector?.identity,
      clock: this.#clock,
      logger: this.#log,
      ...opts,
    });
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** True once every informer has synced, until shutdown starts. */
  isReady(): boolean {
    return this.#state === "running" && [...this.#informers.values()].every((i) => i.hasSynced());
  }

  get state(): State {
    return this.#state;
  }

  get identity(): string | undefined {
    return this.#elector?.identity;
  }

  get healthAddress(): AddressInfo | undefined {
    return address(this.#healthServer);
  }

  get metricsAddress(): AddressInfo | undefined {
    return address(this.#metricsServer);
  }

  /** Resolves once the manager has fully stopped. */
  get done(): Promise<void> {
    return this.#done.promise;
  }

  /**
   * Starts servers and informers, waits for the caches to sync, then campaigns
   * for leadership (or starts the controllers at once without election).
   * Resolves when that point is reached, or when shutdown starts first.
   */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error(`manager already ${this.#state}`);
    this.#state = "starting";
    try {
      if (this.#opts.health !== false && this.#opts.health !== undefined) {
        this.#healthServer = await listen(this.#opts.health, (req, res) => { this.#serveHealth(req, res); });
      }
      if (this.#opts.metrics !== false && this.#opts.metrics !== undefined) {
        this.#metricsServer = await listen(this.#opts.metrics, (req, res) => void this.#serveMetrics(req, res));
      }
    } catch (err) {
      this.#state = "stopped";
      await this.#closeServers();
      this.#done.resolve();
      throw err;
    }
    for (const inf of this.#informers.values()) inf.start();
    this.#log.info({ informers: this.#informers.size }, "waiting for caches to sync");
    const synced = await Promise.all([...this.#informers.values()].map((i) => i.waitForSync(this.#startAbort.signal)));
    if (!synced.every(Boolean) || this.#startAbort.signal.aborted) return;
    this.#state = "running";
    this.#log.info({}, "caches synced");
    if (this.#elector === undefined) {
      this.#startControllers();
    } else {
      this.#electorRun = this.#elector.run().catch((err: unknown) => {
        this.#failed = err;
        this.#log.error({ err: errorFields(err) }, "leader election failed");
        void this.shutdown();
      });
    }
  }

  /** start(), then resolves when the manager has stopped. */
  async run(): Promise<void> {
    await this.start();
    await this.done;
  }

  /**
   * Graceful shutdown: stop being ready, stop taking work, let in-flight
   * reconciles finish, release the Lease, stop informers and servers. Idempotent.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#doShutdown();
    return this.#shutdown;
  }

  /** Shuts down on SIGTERM or SIGINT. Returns the function that removes the handlers. */
  handleSignals(): () => void {
    const onSignal = (signal: NodeJS.Signals): void => {
      this.#log.info({ signal }, "shutting down");
      void this.shutdown();
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    return () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    };
  }

  async #doShutdown(): Promise<void> {
    const wasStarted = this.#state !== "new";
    this.#state = "stopping";
    this.#startAbort.abort();
    if (this.#elector !== undefined && this.#electorRun !== undefined) {
      await this.#elector.stop({ release: true });
      await this.#electorRun;
    } else {
      await this.#stopControllers(false);
    }
    if (wasStarted) await Promise.all([...this.#informers.values()].map((i) => i.stop()));
    await this.#closeServers();
    for (const untrack of this.#untrack) untrack();
    this.#state = "stopped";
    this.#log.info({}, "manager stopped");
    this.#done.resolve();
  }

  #startControllers(): void {
    if (this.#state !== "running") return;
    this.#leading = true;
    this.metrics.setLeader(true);
    for (const c of this.#controllers) c.start();
  }

  /**
   * Stops the controllers. On a lost Lease the in-flight reconciles are told to
   * abort and are waited for (campaigning resumes only after). On shutdown they
   * get shutdownTimeoutMs to finish; resolves false if they did not, so the
   * Lease is left to expire rather than let a successor start beside a writer.
   */
  async #stopControllers(lost: boolean): Promise<boolean> {
    this.#leading = false;
    this.metrics.setLeader(false);
    const stopped = Promise.all(this.#controllers.map((c) => c.stop({ abort: lost }))).then(() => true);
    if (lost) return stopped;
    const limit = this.#opts.shutdownTimeoutMs ?? 25_000;
    const timer = new AbortController();
    const finished = await Promise.race([stopped, sleep(this.#clock, limit, timer.signal).then(() => false)]);
    timer.abort();
    if (!finished) this.#log.error({ timeoutMs: limit }, "in-flight reconciles did not finish in time; the lease is not released");
    return finished;
  }

  #serveHealth(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz" || path === "/livez") {
      const ok = this.#failed === undefined && this.#state !== "stopped";
      reply(res, ok ? 200 : 500, ok ? "ok\n" : "unhealthy\n");
      return;
    }
    if (path === "/readyz") {
      if (this.isReady()) {
        reply(res, 200, "ok\n");
        return;
      }
      const waiting = [...this.#informers.values()].filter((i) => !i.hasSynced()).map((i) => i.description);
      const why = this.#state === "stopping" || this.#state === "stopped" ? "shutting down" : waiting.length > 0 ? `caches not synced: ${waiting.join(", ")}` : this.#state;
      reply(res, 503, `not ready: ${why}\n`);
      return;
    }
    reply(res, 404, "not found\n");
  }

  async #serveMetrics(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      reply(res, 404, "not found\n");
      return;
    }
    try {
      const body = await this.metrics.registry.metrics();
      res.writeHead(200, { "Content-Type": this.metrics.registry.contentType });
      res.end(body);
    } catch (err) {
      this.#log.error({ err: errorFields(err) }, "metrics collection failed");
      reply(res, 500, "metrics collection failed\n");
    }
  }

  async #closeServers(): Promise<void> {
    await Promise.all([close(this.#healthServer), close(this.#metricsServer)]);
  }
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" });
  res.end(body);
}

function listen(opts: ListenOptions, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function close(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => { resolve(); });
    server.closeAllConnections();
  });
}

function address(server: Server | undefined): AddressInfo | undefined {
  const a = server?.address();
  return a !== null && typeof a === "object" ? a : undefined;
}
