// The keyward controller: the reconcilers wired onto the runtime.
//
//   startController(options)     in-process (tests, the demo)
//   keyward controller [flags]   the command (runControllerCommand)
//
// Controllers and what wakes them:
//   apikey         ApiKey; its signing-key Secret; the RotationPolicy or ClusterRotationPolicy it uses;
//                  the tenant bundle (a deleted ApiKey waits for it); its namespace being deleted
//   accesstoken    AccessToken; its ApiKey; the ApiKey's signing-key Secret; its token Secret;
//                  rotation policies; the tenant bundle (a deleted AccessToken waits for it);
//                  its namespace being deleted
//   bundle         per tenant: ApiKeys, AccessPolicies, revoked AccessTokens, signing-key Secrets,
//                  the bundle ConfigMap itself, rotation policies, the namespace being deleted
//   accesspolicy, rotationpolicy, clusterrotationpolicy   their own objects (status only)

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import type { DestinationStream } from "pino";
import type { AccessPolicy, AccessToken, ApiKey, ClusterRotationPolicy, IssuedToken, RotationPolicy } from "../api/types.generated.ts";
import { KubeClient } from "../kube/client.ts";
import { systemClock, type Clock } from "../kube/clock.ts";
import { KubeConfigError, loadKubeConfig, SERVICE_ACCOUNT_DIR } from "../kube/config.ts";
import { withoutManagedFields, type Informer, type ListWatchOptions } from "../kube/informer.ts";
import type { Logger } from "../kube/logger.ts";
import { Resources, type Resource } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";
import { WriteCounter } from "../kube/writes.ts";
import { aborted, stopSignalOf } from "../lib/stop.ts";
import { generateSigningKey } from "../token/index.ts";
import {
  auditRevocation,
  clientCredentialsOwnerKeys,
  clientCredentialsReconciler,
  createTokenServiceLogger,
  ISSUED_TOKENS,
  kubeIssuedTokenStore,
  startTokenService,
  type RunningTokenService,
} from "../issuer/index.ts";
import type { KeyFactory } from "./apikey/plan.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, type SecretObject } from "./apikey/secret.ts";
import type { ConfigMapObject } from "./bundle/configmap.ts";
import { BUNDLE_CONFIGMAP_NAME } from "./bundle/plan.ts";
import { accessTokenReconciler, accessTokenWatches, API_KEY_INDEX, apiKeyIndexValue } from "./controllers/accesstoken.ts";
import { apiKeyReconciler, apiKeyWatches, bundleKey, ROTATION_POLICY_INDEX, rotationPolicyIndexValue } from "./controllers/apikey.ts";
import { bundleReconciler, bundleWatches } from "./controllers/bundle.ts";
import { BundleReports } from "./controllers/reports.ts";
import type { ControllerContext, Stores } from "./controllers/context.ts";
import { ControllerMetrics } from "./controllers/metrics.ts";
import { TenantNamespaces, type NamespaceObject } from "./controllers/namespaces.ts";
import { accessPolicyReconciler, rotationPolicyReconciler } from "./controllers/policies.ts";
import type { PolicyReason } from "./controllers/policy-reasons.ts";
import { Store } from "./controllers/store.ts";
import {
  controllerHelp,
  ControllerConfigError,
  DEFAULT_ISSUER,
  DEFAULT_LEASE_NAME,
  parseControllerArgs,
  type ControllerConfig,
  type ListenAddress,
  type LogLevel,
  type TokenServiceConfig,
} from "./options.ts";
import type { Reason } from "./reasons.ts";
import type { Controller } from "./runtime/controller.ts";
import { createLogger } from "./runtime/logging.ts";
import { Manager } from "./runtime/manager.ts";
import { startWebhook, type RunningWebhook, type StartWebhookOptions } from "../webhook/index.ts";
import { ownImage } from "../webhook/own-image.ts";
import { BYPASS_REASON, bypassGauge, bypassReconciler, INJECTED_PODS_SELECTOR, PODS, SERVICES, type PodObject, type ServiceObject } from "../webhook/bypass.ts";

export interface LeaderElectionSettings {
  /** Namespace of the Lease. */
  namespace: string;
  /** Lease name. Default keyward-controller. */
  name?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface StartControllerOptions {
  /** The cluster. Default: kubeconfigPath, else $KUBECONFIG, else in-cluster. */
  kubeConfig?: KubeConfig;
  kubeconfigPath?: string | null;
  /** Environment for KUBECONFIG and in-cluster discovery. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Namespaces to watch; empty or absent: all. */
  namespaces?: readonly string[];
  /** `iss` of every token and `issuer` of every bundle. Default "keyward". */
  issuer?: string;
  /** Leader election on a Lease; false or absent: run at once (one replica). */
  leaderElection?: LeaderElectionSettings | false;
  /** /metrics; null or absent: off. */
  metrics?: ListenAddress | null;
  /** /healthz, /livez, /readyz; null or absent: off. */
  health?: ListenAddress | null;
  /** A logger; default a pino logger at `logLevel` on `logDestination` (stdout). */
  logger?: Logger;
  logLevel?: LogLevel;
  logDestination?: DestinationStream;
  /** Time for everything: reconciles, rotations, renewals, requeues, informers, leases. Default the system clock. */
  clock?: Clock;
  /** Where API writes are counted. Default a new counter. */
  writes?: WriteCounter;
  /** Reconciles of each controller at once. Default 4. */
  workers?: number;
  /** Informers re-deliver every object this often. Default 10 minutes. */
  resyncPeriodMs?: number;
  /** Largest bundle.json + jwks.json. Default: 1 MiB minus a 64 KiB margin. */
  bundleSizeLimit?: number;
  /** How long shutdown waits for in-flight reconciles. Default 25 s. */
  shutdownTimeoutMs?: number;
  /** Makes signing keys. Default generateSigningKey. */
  mintKey?: KeyFactory;
  /** Per-request timeout of API calls. Default 30 s. */
  requestTimeoutMs?: number;
  /** The token service (src/issuer) on every replica, over the controller's caches; null or absent: off. */
  tokenService?: (TokenServiceConfig & { tlsPollIntervalMs?: number }) | null;
  /** The sidecar-injection webhook (src/webhook) on every replica; null or absent: off. */
  webhook?: Omit<StartWebhookOptions, "client" | "clock" | "log"> | null;
}

export interface RunningController {
  readonly manager: Manager;
  /** Every write request sent, by verb and resource (Lease renewals included). */
  readonly writes: WriteCounter;
  readonly client: KubeClient;
  /** This replica's leader-election identity (undefined without election). */
  readonly identity: string | undefined;
  isLeader(): boolean;
  /** Queues every object of every controller, as an informer resync does. */
  resync(): void;
  /** No key queued or being reconciled (scheduled requeues do not count). */
  idle(): boolean;
  /** Resolves once every Event recorded so far has been written (or dropped). */
  flushEvents(): Promise<void>;
  /** Graceful stop: in-flight reconciles finish, the Lease is released. Idempotent. */
  stop(): Promise<void>;
  /** Resolves once stopped (by stop() or a fatal error). */
  readonly done: Promise<void>;
}

const DEFAULT_WORKERS = 4;

export async function startController(options: StartControllerOptions = {}): Promise<RunningController> {
  const kubeConfig = options.kubeConfig ?? loadKubeConfig({ path: options.kubeconfigPath ?? undefined, env: options.env ?? process.env }).kubeConfig;
  const clock = options.clock ?? systemClock;
  const log = options.logger ?? createLogger({ level: options.logLevel ?? "info", ...(options.logDestination === undefined ? {} : { destination: options.logDestination }) });
  const writes = options.writes ?? new WriteCounter();
  const client = new KubeClient({ kubeConfig, fieldManager: "keyward-controller", writes, requestTimeoutMs: options.requestTimeoutMs, userAgent: "keyward-controller" });
  const le = options.leaderElection ?? false;
  const manager = new Manager({
    client,
    logger: log,
    clock,
    leaderElection: le === false ? false : { ...le, name: le.name ?? DEFAULT_LEASE_NAME },
    health: options.health ?? false,
    metrics: options.metrics ?? false,
    informerDefaults: { resyncPeriodMs: options.resyncPeriodMs ?? 10 * 60_000 },
    ...(options.shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs: options.shutdownTimeoutMs }),
  });

  const namespaces = [...new Set(options.namespaces ?? [])];
  const store = <T extends KubeObject>(resource: Resource, opts: ListWatchOptions = {}): Store<T> => {
    const informers = new Map<string, Informer<T>>();
    // Caches keep no managedFields: nothing reads them, and they can be most of an object's size.
    const cached = { ...opts, transform: withoutManagedFields };
    if (!resource.namespaced || namespaces.length === 0) informers.set("", manager.informer<T>(resource, cached));
    else for (const ns of namespaces) informers.set(ns, manager.informer<T>(resource, { ...cached, namespace: ns }));
    return new Store<T>(informers, clock);
  };
  const stores: Stores = {
    apiKeys: store<ApiKey>(Resources.apiKeys),
    accessTokens: store<AccessToken>(Resources.accessTokens),
    accessPolicies: store<AccessPolicy>(Resources.accessPolicies),
    rotationPolicies: store<RotationPolicy>(Resources.rotationPolicies),
    clusterRotationPolicies: store<ClusterRotationPolicy>(Resources.clusterRotationPolicies),
    secrets: store<SecretObject>(Resources.secrets, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` }),
    configMaps: store<ConfigMapObject>(Resources.configMaps, { fieldSelector: `metadata.name=${BUNDLE_CONFIGMAP_NAME}` }),
  };
  // Which tenant namespaces are being deleted: every namespace, or each watched one by name.
  const namespaceInformers = new Map<string, Informer<NamespaceObject>>();
  const namespaceCache = { transform: withoutManagedFields };
  if (namespaces.length === 0) namespaceInformers.set("", manager.informer<NamespaceObject>(Resources.namespaces, namespaceCache));
  else for (const ns of namespaces) namespaceInformers.set(ns, manager.informer<NamespaceObject>(Resources.namespaces, { ...namespaceCache, fieldSelector: `metadata.name=${ns}` }));
  stores.namespaces = new TenantNamespaces(namespaceInformers);
  stores.apiKeys.addIndex(ROTATION_POLICY_INDEX, (k) => [rotationPolicyIndexValue(k)]);
  stores.accessTokens.addIndex(API_KEY_INDEX, (t) => [apiKeyIndexValue(t)]);
  if (options.tokenService != null) {
    // The token service's records: revocations into the bundle, expired ones deleted (bundle
    // controller), and an audit line and Event when one is revoked (the leader only).
    const issuedTokens = store<IssuedToken>(ISSUED_TOKENS);
    const revocationEvents = manager.eventRecorder();
    for (const informer of issuedTokens.informers) {
      informer.addHandlers({ update: (before, after) => { if (manager.isLeader()) auditRevocation(before, after, log, revocationEvents); } });
    }
    stores.issuedTokens = issuedTokens;
  }

  const ctx: ControllerContext = {
    client,
    stores,
    clock,
    issuer: options.issuer ?? DEFAULT_ISSUER,
    log,
    events: manager.eventRecorder<Reason>(),
    policyEvents: manager.eventRecorder<PolicyReason>(),
    metrics: new ControllerMetrics(manager.metrics.registry),
    reports: new BundleReports(),
    bundleSizeLimit: options.bundleSizeLimit,
    mintKey: options.mintKey ?? generateSigningKey,
  };

  const workers = options.workers ?? DEFAULT_WORKERS;
  const apiKeyController = manager.addController({ name: "apikey", reconcile: apiKeyReconciler(ctx), watches: apiKeyWatches(stores), workers });
  // The bundle's part of an ApiKey's status is written by the ApiKey controller.
  ctx.reports.onChange((key) => { apiKeyController.enqueue(key); });
  const controllers: Controller[] = [
    apiKeyController,
    manager.addController({ name: "accesstoken", reconcile: accessTokenReconciler(ctx), watches: accessTokenWatches(stores), workers }),
    manager.addController({ name: "bundle", reconcile: bundleReconciler(ctx), watches: bundleWatches(stores), workers }),
    manager.addController({ name: "accesspolicy", reconcile: accessPolicyReconciler(ctx), watches: stores.accessPolicies.watchSpecs() }),
    manager.addController({ name: "rotationpolicy", reconcile: rotationPolicyReconciler(ctx, "RotationPolicy"), watches: stores.rotationPolicies.watchSpecs() }),
    manager.addController({
      name: "clusterrotationpolicy",
      reconcile: rotationPolicyReconciler(ctx, "ClusterRotationPolicy"),
      watches: stores.clusterRotationPolicies.watchSpecs(),
    }),
  ];
  const primaries: Record<string, () => string[]> = {
    apikey: () => stores.apiKeys.list().map(keyOf),
    accesstoken: () => stores.accessTokens.list().map(keyOf),
    bundle: () => [...new Set([...stores.apiKeys.namespaces(), ...stores.configMaps.namespaces()])].map(bundleKey),
    accesspolicy: () => stores.accessPolicies.list().map(keyOf),
    rotationpolicy: () => stores.rotationPolicies.list().map(keyOf),
    clusterrotationpolicy: () => stores.clusterRotationPolicies.list().map(keyOf),
  };
  if (stores.issuedTokens !== undefined) {
    // With the token service: each ApiKey's OAuth 2.0 client credentials follow its annotation.
    controllers.push(
      manager.addController({
        name: "clientcredentials",
        reconcile: clientCredentialsReconciler({ client, apiKeys: stores.apiKeys, secrets: stores.secrets, log, events: manager.eventRecorder() }),
        watches: [...stores.apiKeys.watchSpecs(), ...stores.secrets.watchSpecs(clientCredentialsOwnerKeys)],
        workers,
      }),
    );
    primaries.clientcredentials = () => stores.apiKeys.list().map(keyOf);
  }

  if (options.webhook != null) {
    // With injection: Services that reach an injected app around its verifier are reported.
    const services = store<ServiceObject>(SERVICES);
    const pods = store<PodObject>(PODS, { labelSelector: INJECTED_PODS_SELECTOR });
    const bypassEvents = manager.eventRecorder<typeof BYPASS_REASON>();
    const gauge = bypassGauge(manager.metrics.registry);
    controllers.push(
      manager.addController({
        name: "bypass",
        reconcile: bypassReconciler({ services, pods, warn: (svc, reason, message) => bypassEvents.warning(svc, reason, message), gauge }),
        watches: [...services.watchSpecs(), ...pods.watchSpecs((p) => services.list(p.metadata?.namespace).map(keyOf))],
        workers,
      }),
    );
    primaries.bypass = () => services.list().map(keyOf);
  }

  log.info({ namespaces: namespaces.length === 0 ? "all" : namespaces, leaderElection: le !== false, issuer: ctx.issuer }, "starting keyward controller");
  try {
    await manager.start();
  } catch (err) {
    await manager.shutdown();
    throw err;
  }

  let tokenService: RunningTokenService | null = null;
  const ts = options.tokenService ?? null;
  if (ts !== null) {
    const informersOf: { hasSynced(): boolean }[] = [
      ...stores.apiKeys.informers, ...stores.secrets.informers, ...stores.configMaps.informers, ...stores.rotationPolicies.informers, ...stores.clusterRotationPolicies.informers,
    ];
    try {
      tokenService = await startTokenService({
        listen: ts.listen,
        tls: { certFile: ts.certFile, keyFile: ts.keyFile, ...(ts.tlsPollIntervalMs === undefined ? {} : { pollIntervalMs: ts.tlsPollIntervalMs }) },
        issuer: ctx.issuer,
        ...(ts.publicUrl === null ? {} : { publicUrl: ts.publicUrl }),
        cache: {
          synced: () => informersOf.every((i) => i.hasSynced()),
          apiKeys: stores.apiKeys,
          secrets: stores.secrets,
          configMaps: stores.configMaps,
          rotationPolicies: stores.rotationPolicies,
          clusterRotationPolicies: stores.clusterRotationPolicies,
        },
        store: kubeIssuedTokenStore(client),
        events: manager.eventRecorder(),
        logger: options.logger ?? createTokenServiceLogger({ level: options.logLevel ?? "info", ...(options.logDestination === undefined ? {} : { destination: options.logDestination }) }),
        clock,
      });
    } catch (err) {
      await manager.shutdown();
      throw err;
    }
  }

  let webhook: RunningWebhook | null = null;
  if (options.webhook != null) {
    try {
      webhook = await startWebhook({ ...options.webhook, client, clock, log });
    } catch (err) {
      await tokenService?.close();
      await manager.shutdown();
      throw err;
    }
  }

  return {
    manager,
    writes,
    client,
    identity: manager.identity,
    isLeader: () => manager.isLeader(),
    resync: () => {
      for (const c of controllers) for (const key of primaries[c.name]?.() ?? []) c.enqueue(key);
    },
    idle: () => controllers.every((c) => c.queue === undefined || (c.queue.len() === 0 && c.queue.processingCount() === 0)),
    flushEvents: async () => {
      await Promise.all([ctx.events.flush(), ctx.policyEvents.flush()]);
    },
    stop: async () => {
      await webhook?.stop();
      webhook = null;
      await tokenService?.close();
      tokenService = null;
      await manager.shutdown();
    },
    done: manager.done,
  };
}

function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns === undefined || ns === "" ? name : `${ns}/${name}`;
}

// ---- the command ------------------------------------------------------------

/** What the command needs of its surroundings (the CLI's CliIO fits). */
export interface ControllerCommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Stops the controller gracefully when aborted. Default: SIGTERM or SIGINT. */
  stopSignal?: AbortSignal;
}

export const CONTROLLER_COMMAND_SUMMARY = "mint and rotate ApiKey signing keys, issue AccessTokens, write tenant bundles";

/** `keyward controller [flags]`: runs until SIGTERM or SIGINT, then shuts down gracefully. Resolves to the exit code. */
export async function runControllerCommand(args: string[], io: ControllerCommandIO): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout.write(controllerHelp());
    return 0;
  }
  let config: ControllerConfig;
  try {
    config = parseControllerArgs(args, io.env);
  } catch (err) {
    if (err instanceof ControllerConfigError) {
      io.stderr.write(`keyward controller: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  let leaseNamespace = config.leaderElectionNamespace;
  const saNamespaceFile = join(SERVICE_ACCOUNT_DIR, "namespace");
  if (config.leaderElect && leaseNamespace === null && existsSync(saNamespaceFile)) leaseNamespace = readFileSync(saNamespaceFile, "utf8").trim();
  if (config.leaderElect && (leaseNamespace === null || leaseNamespace === "")) {
    io.stderr.write("keyward controller: --leader-elect needs the Lease's namespace: set --leader-election-namespace or POD_NAMESPACE\n");
    return 2;
  }

  let webhook: StartControllerOptions["webhook"] = null;
  if (config.webhook !== null) {
    const wh = config.webhook;
    const namespace = io.env.POD_NAMESPACE ?? leaseNamespace ?? (existsSync(saNamespaceFile) ? readFileSync(saNamespaceFile, "utf8").trim() : "");
    if (namespace === "") {
      io.stderr.write("keyward controller: --webhook-bind-address needs the controller's namespace (its Secret and Service are there): set POD_NAMESPACE\n");
      return 2;
    }
    let image = wh.image;
    if (image === null) {
      const podName = io.env.POD_NAME ?? "";
      if (podName === "") {
        io.stderr.write("keyward controller: --webhook-bind-address needs the image to inject: set --sidecar-image, or POD_NAME so the controller reads its own\n");
        return 2;
      }
      try {
        const kubeConfig = loadKubeConfig({ path: config.kubeconfig ?? undefined, env: io.env }).kubeConfig;
        image = await ownImage(new KubeClient({ kubeConfig, fieldManager: "keyward-controller", userAgent: "keyward-controller" }), namespace, podName);
      } catch (err) {
        io.stderr.write(`keyward controller: cannot read the image to inject from Pod ${namespace}/${podName}: ${err instanceof Error ? err.message : String(err)}; set --sidecar-image\n`);
        return 1;
      }
    }
    webhook = { host: wh.listen.host, port: wh.listen.port, image, namespace, serviceName: wh.serviceName, secretName: wh.secretName, configurationName: wh.configurationName, files: wh.files };
  }

  const stop = stopSignalOf(io);
  let running: RunningController;
  try {
    running = await startController({
      kubeconfigPath: config.kubeconfig,
      env: { ...io.env },
      namespaces: config.namespaces,
      issuer: config.issuer,
      leaderElection: config.leaderElect ? { namespace: leaseNamespace ?? "", name: config.leaseName } : false,
      metrics: config.metrics,
      health: config.health,
      logLevel: config.logLevel,
      logDestination: io.stdout as unknown as DestinationStream,
      workers: config.workers,
      resyncPeriodMs: config.resyncPeriodMs,
      tokenService: config.tokenService,
      webhook,
    });
  } catch (err) {
    stop.dispose();
    const message = err instanceof KubeConfigError ? err.message : err instanceof Error ? err.message : String(err);
    io.stderr.write(`keyward controller: cannot start: ${message}\n`);
    return 1;
  }
  await Promise.race([aborted(stop.signal), running.done]);
  stop.dispose();
  await running.stop();
  return 0;
}
