// Assembles a running verifier from its configuration: the bundle store and its source,
// the decider, the proxy or authz server with its limits, the admin server, and a
// graceful drain.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { KubeConfig } from "@kubernetes/client-node";
import type { DestinationStream } from "pino";
import { Pool } from "undici";
import { loadKubeConfig } from "../kube/config.ts";
import { TokenVerifier } from "../token/index.ts";
import { createAdminServer, readiness } from "./admin.ts";
import { createAuthzHandler } from "./authz.ts";
import { startGrpcAuthz, type GrpcAuthzServer } from "./grpc/ext-authz-server.ts";
import { ConfigMapBundleSource, trustReader } from "./bundle/configmap-source.ts";
import { FileBundleSource } from "./bundle/file-source.ts";
import { TrustFileSource } from "./bundle/trust-file-source.ts";
import { BundleStore } from "./bundle/store.ts";
import type { HostPort, VerifierConfig } from "./config.ts";
import { Decider } from "./decide.ts";
import { createLogger, type Logger } from "./log.ts";
import { VerifierMetrics } from "./metrics.ts";
import { createProxy } from "./proxy.ts";
import { KubeClient } from "../kube/client.ts";
import { systemClock, type Clock } from "../kube/clock.ts";
import { VerifierReporter } from "./report/reporter.ts";

export interface VerifierDeps {
  /** The clock for every validity decision (token times, bundle age). Default Date.now. */
  now?: () => number;
  /** Where logs go (default stdout). */
  logDestination?: DestinationStream;
  /** Randomness of decision-log sampling. */
  random?: () => number;
  /** For --bundle-configmap; default: loaded from --kubeconfig, $KUBECONFIG or in-cluster. */
  kubeConfig?: KubeConfig;
  /** Timers of the verifier report (its times come from `now`). Default the system's. */
  reportTimers?: Pick<Clock, "setTimeout" | "clearTimeout">;
  /** Size of the token library's verification cache. */
  tokenCacheSize?: number;
  /**
   * Benchmark only, never reachable from the command line: a proxy that checks nothing,
   * to measure the cost of the check against the cost of proxying.
   */
  uncheckedProxyForBenchmark?: boolean;
}

export interface RunningVerifier {
  /** The address the proxy or authz server listens on. */
  readonly address: HostPort;
  /** The admin server's address, or null when --metrics-listen off. */
  readonly adminAddress: HostPort | null;
  /** The gRPC ext_authz server's address, or null when --grpc-listen off. */
  readonly grpcAddress: HostPort | null;
  readonly store: BundleStore;
  readonly metrics: VerifierMetrics;
  readonly logger: Logger;
  /** The verifier report, or null when --report is off. */
  readonly reporter: VerifierReporter | null;
  /** True once drain() has begun. */
  draining(): boolean;
  /**
   * Graceful stop: stop accepting, let requests in flight finish (at most `deadlineMs`,
   * default --drain-timeout), then close everything. Idempotent.
   */
  drain(deadlineMs?: number): Promise<void>;
}

export async function startVerifier(config: VerifierConfig, deps: VerifierDeps = {}): Promise<RunningVerifier> {
  const now = deps.now ?? Date.now;
  const logger = createLogger(config.logLevel, deps.logDestination);
  let store: BundleStore | null = null;
  let isDraining = false;
  const metrics = new VerifierMetrics(
    () => store?.ageSeconds() ?? null,
    () => store !== null && readiness(store, isDraining).ready,
  );
  const verifier = new TokenVerifier({ leewaySeconds: config.leewaySeconds, sharedIssuerWindowSeconds: config.sharedIssuerWindowSeconds, maxTokenBytes: config.maxTokenBytes, ...(deps.tokenCacheSize === undefined ? {} : { cacheSize: deps.tokenCacheSize }) });
  const signatures = config.trust.kind === "off" ? null : { maxSignatureAgeMs: config.maxSignatureAgeMs };
  store = new BundleStore({ tenant: config.tenant, verifier, now, maxBundleAgeMs: config.maxBundleAgeMs, signatures, logger, metrics });
  if (signatures === null) {
    logger.warn(
      { event: "insecure_unsigned_bundles" },
      "INSECURE: --insecure-allow-unsigned-bundles is set: bundle signatures are not checked, so anyone who can write the bundle ConfigMap decides which tokens pass. Development only.",
    );
  }
  const bundleStore = store;

  const draining = (): boolean => isDraining;
  const decider = new Decider({ store, verifier, metrics, logger, now, decisionLogSample: config.decisionLogSample, ...(deps.random === undefined ? {} : { random: deps.random }) });

  const server = createVerifierServer(config);

  let pool: Pool | null = null;
  let tunnels: ReadonlySet<Duplex> = new Set();
  if (config.mode === "proxy") {
    if (config.upstream === null) throw new Error("proxy mode needs an upstream");
    pool = new Pool(config.upstream.origin, { connections: config.maxConnections, connectTimeout: config.upstreamTimeoutMs, pipelining: 1 });
    const proxy = createProxy({
      upstream: config.upstream,
      pool,
      upstreamTimeoutMs: config.upstreamTimeoutMs,
      forwardAuthorization: config.forwardAuthorization,
      decider: deps.uncheckedProxyForBenchmark === true ? null : decider,
      metrics,
      logger,
      draining,
    });
    server.on("request", proxy.onRequest);
    server.on("checkContinue", proxy.onRequest);
    server.on("upgrade", proxy.onUpgrade);
    tunnels = proxy.tunnels;
  } else {
    server.on("request", createAuthzHandler({ decider, pathPrefix: config.authzPathPrefix, draining }));
  }
  const trustSource = bundleTrustSource(config, deps, store, logger);
  const source = bundleSource(config, deps, store, logger);
  const reporter = verifierReporter(config, deps, store, metrics, logger, now);

  const admin = config.metricsListen === null ? null : createAdminServer({ store, metrics, draining });
  let address: HostPort;
  let adminAddress: HostPort | null = null;
  let grpc: GrpcAuthzServer | null = null;
  try {
    address = await listen(server, config.listen);
    if (admin !== null && config.metricsListen !== null) adminAddress = await listen(admin, config.metricsListen);
    if (config.grpcListen !== null) grpc = await startGrpcAuthz({ decider, host: config.grpcListen.host, port: config.grpcListen.port });
  } catch (err) {
    server.close();
    admin?.close();
    void pool?.destroy();
    throw err;
  }
  // The trusted keys first: the first bundle read can then be checked at once.
  await trustSource?.start();
  await source.start();
  reporter?.start();
  logger.info(
    { event: "started", mode: config.mode, listen: `${address.host}:${address.port}`, upstream: config.upstream?.origin, tenant: config.tenant, bundle: config.bundle.kind, generation: store.generation() },
    `keyward verifier (${config.mode}) listening on ${address.host}:${address.port}${grpc === null ? "" : `, gRPC ext_authz on ${grpc.host}:${grpc.port}`}`,
  );

  let drained: Promise<void> | null = null;
  const drain = (deadlineMs = config.drainTimeoutMs): Promise<void> => {
    drained ??= (async () => {
      isDraining = true;
      logger.info({ event: "draining", deadlineMs }, "draining: no new connections, finishing requests in flight");
      const closed = new Promise<void>((resolve) => server.close(() => { resolve(); }));
      const idle = setInterval(() => { server.closeIdleConnections(); }, 50);
      const deadline = setTimeout(() => {
        server.closeAllConnections();
        for (const t of tunnels) t.destroy();
      }, deadlineMs);
      await Promise.all([closed, grpc?.stop(deadlineMs)]);
      clearInterval(idle);
      clearTimeout(deadline);
      await source.stop();
      bundleStore.close();
      await reporter?.stop();
      await trustSource?.stop();
      await pool?.destroy();
      if (admin !== null) {
        const adminClosed = new Promise<void>((resolve) => admin.close(() => { resolve(); }));
        admin.closeAllConnections();
        await adminClosed;
      }
      logger.info({ event: "stopped" }, "verifier stopped");
    })();
    return drained;
  };

  const grpcAddress = grpc === null ? null : { host: grpc.host, port: grpc.port };
  return { address, adminAddress, grpcAddress, store: bundleStore, metrics, logger, reporter, draining, drain };
}

/** The HTTP server with the verifier's limits; a malformed request gets a bare status line, nothing from the request. */
function createVerifierServer(config: VerifierConfig): Server {
  const server = createServer({
    maxHeaderSize: config.maxHeaderBytes,
    headersTimeout: Math.min(config.requestTimeoutMs, 20_000),
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    requireHostHeader: true,
    noDelay: true,
  });
  server.maxHeadersCount = config.maxHeaderCount;
  server.maxConnections = config.maxConnections;
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    // Malformed requests, oversized heads, timeouts: a bare status line, nothing from the request.
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    const text = status === 431 ? "Request Header Fields Too Large" : status === 408 ? "Request Timeout" : "Bad Request";
    socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  });
  return server;
}

/** Where the bundle comes from: the mounted file, or the ConfigMap through the API. */
function bundleSource(config: VerifierConfig, deps: VerifierDeps, store: BundleStore, logger: Logger): FileBundleSource | ConfigMapBundleSource {
  if (config.bundle.kind === "file") return new FileBundleSource({ path: config.bundle.path, pollIntervalMs: config.bundle.pollIntervalMs, store, logger });
  return new ConfigMapBundleSource({
    namespace: config.bundle.namespace,
    name: config.bundle.name,
    kubeConfig: deps.kubeConfig ?? loadKubeConfig({ path: config.bundle.kubeconfig ?? undefined }).kubeConfig,
    store,
    logger,
  });
}

/** The verifier report (--report), following the store's generation; null when off. */
function verifierReporter(config: VerifierConfig, deps: VerifierDeps, store: BundleStore, metrics: VerifierMetrics, logger: Logger, now: () => number): VerifierReporter | null {
  const report = config.report;
  if (report === null) return null;
  const kubeConfig = deps.kubeConfig ?? loadKubeConfig({ path: report.kubeconfig ?? undefined }).kubeConfig;
  const timers = deps.reportTimers ?? systemClock;
  const reporter = new VerifierReporter({
    client: new KubeClient({ kubeConfig, userAgent: "keyward-verifier", requestTimeoutMs: Math.min(10_000, report.heartbeatMs) }),
    namespace: config.tenant,
    pod: report.podName,
    podUid: report.podUid,
    generation: () => store.generation(),
    heartbeatMs: report.heartbeatMs,
    clock: { now, setTimeout: (fn, ms) => timers.setTimeout(fn, ms), clearTimeout: (h) => { timers.clearTimeout(h); } },
    logger,
    count: (result) => { metrics.reportWrites.inc({ result }); },
  });
  store.onLoaded(() => { reporter.changed(); });
  return reporter;
}

/** Where the trusted bundle-signing keys come from: a ConfigMap in keyward's namespace through the API, a file, or nowhere (insecure). */
function bundleTrustSource(config: VerifierConfig, deps: VerifierDeps, store: BundleStore, logger: Logger): TrustFileSource | ConfigMapBundleSource | null {
  const trust = config.trust;
  if (trust.kind === "off") return null;
  if (trust.kind === "file") return new TrustFileSource({ path: trust.path, pollIntervalMs: trust.pollIntervalMs, store });
  return new ConfigMapBundleSource({
    namespace: trust.namespace,
    name: trust.name,
    kubeConfig: deps.kubeConfig ?? loadKubeConfig({ path: trust.kubeconfig ?? undefined }).kubeConfig,
    reader: trustReader(store, trust.namespace, trust.name),
    store,
    logger,
  });
}

function listen(server: Server, at: HostPort): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => { reject(err); };
    server.once("error", onError);
    server.listen(at.port, at.host, () => {
      server.off("error", onError);
      const a = server.address() as AddressInfo;
      resolve({ host: a.address, port: a.port });
    });
  });
}
