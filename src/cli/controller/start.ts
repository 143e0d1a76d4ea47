// The composition root of `keyward controller`: which informers, which
// controllers, which servers. The controllers and the runtime are in
// src/controller, the token service in src/issuer; only this file knows both.
//
//   startController(options)     in-process (tests, the demo, the command)
//
// Controllers and what wakes them:
//   apikey         ApiKey; its signing-key Secret; the RotationPolicy or ClusterRotationPolicy it uses;
//                  the tenant bundle (a deleted ApiKey waits for it); its namespace being deleted;
//                  the bundle's part of its status (BundleReports)
//   accesstoken    AccessToken; its ApiKey; the ApiKey's signing-key Secret; its token Secret;
//                  rotation policies; the tenant bundle (a deleted AccessToken waits for it);
//                  its namespace being deleted
//   bundle         per tenant: ApiKeys, AccessPolicies, revoked AccessTokens, signing-key Secrets,
//                  the bundle ConfigMap itself, rotation policies, the namespace being deleted,
//                  IssuedTokens (with the token service)
//                  the bundle-signing Secret (every tenant), its record in the system namespace
//   keyring        the bundle-signing Secret and the trust ConfigMap in the system namespace; every
//                  tenant bundle (which key still signs one)
//   tokensecret    token Secrets (their finalizer: revoked once their AccessToken is gone); the AccessToken;
//                  the tenant bundle; the namespace being deleted
//   accesspolicy, rotationpolicy, clusterrotationpolicy   their own objects (status only)
//   clientcredentials (with the token service)   ApiKeys and their client-credentials Secrets
//   issuedtoken (with the token service)   revoked IssuedTokens (their status); the tenant bundle and,
//                  with verifier reports on, a report Lease that came, went or enforces another
//                  generation, for the records whose revocation is not enforced yet
//   keysweep       signing-key Secrets in the system namespace; ApiKeys deleted (a Secret whose ApiKey is gone goes)
//   (apikey also wakes, with verifier reports on, for a report Lease that came, went or enforces
//   another generation, when the ApiKey has a prepared key or a revocation not enforced yet)

import type { KubeConfig } from "@kubernetes/client-node";
import type { DestinationStream } from "pino";
import type { AccessPolicy, AccessToken, ApiKey, ClusterRotationPolicy, IssuedToken, RotationPolicy } from "../../api/types.generated.ts";
import type { KeyFactory } from "../../controller/apikey/plan.ts";
import { accessTokenReconciler, accessTokenWatches, API_KEY_INDEX, apiKeyIndexValue, revocationUnenforced } from "../../controller/controllers/accesstoken.ts";
import { apiKeyReconciler, apiKeyWatches, bundleKey, ROTATION_POLICY_INDEX, rotationPolicyIndexValue } from "../../controller/controllers/apikey.ts";
import { bundleReconciler, bundleWatches } from "../../controller/controllers/bundle.ts";
import { keyringKey, keyringReconciler, keyringWatches } from "../../controller/controllers/keyring.ts";
import { clientCredentialsOwnerKeys, clientCredentialsReconciler } from "../../controller/controllers/clientcredentials.ts";
import type { ControllerContext, Stores } from "../../controller/controllers/context.ts";
import { auditRevocation, issuedRevocationsPendingSince, issuedTokenReconciler, issuedTokenWatches } from "../../controller/controllers/issuedtokens.ts";
import { ControllerMetrics } from "../../controller/controllers/metrics.ts";
import { TenantNamespaces, type NamespaceObject } from "../../controller/controllers/namespaces.ts";
import { accessPolicyReconciler, rotationPolicyReconciler } from "../../controller/controllers/policies.ts";
import { BundleReports } from "../../controller/controllers/handover.ts";
import { keySweepKeys, keySweepReconciler, keySweepWatches } from "../../controller/controllers/signingkeys.ts";
import { signingKeysOf } from "../../controller/controllers/memo.ts";
import { DeletedTokens, tokenSecretPending, tokenSecretReconciler, tokenSecretWatches } from "../../controller/controllers/tokensecrets.ts";
import { NamespaceShard } from "../../controller/controllers/shard.ts";
import { Store } from "../../controller/controllers/store.ts";
import type { Controller } from "../../controller/runtime/controller.ts";
import { createLogger } from "../../controller/runtime/logging.ts";
import { Manager } from "../../controller/runtime/manager.ts";
import { createTokenServiceLogger, kubeIssuedTokenStore, startTokenService, type IssuerCache, type RunningTokenService } from "../../issuer/index.ts";
import { KubeClient } from "../../kube/client.ts";
import { systemClock, type Clock } from "../../kube/clock.ts";
import { DEFAULT_VERIFIER_TTL_MS, VerifierViews } from "../../controller/verifiers/views.ts";
import { registerVerifierGauges } from "../../controller/verifiers/metrics.ts";
import { VERIFIER_REPORT_SELECTOR, type LeaseObject } from "../../model/verifier-report.ts";
import { loadKubeConfig } from "../../kube/config.ts";
import { withoutApplyRecords, type Informer, type ListWatchOptions } from "../../kube/informer.ts";
import type { Logger } from "../../kube/logger.ts";
import { Resources, type Resource } from "../../kube/resources.ts";
import { objectKey, parseKey, type KubeObject } from "../../kube/types.ts";
import { cachedTokenSecret } from "../../model/access-token/secret.ts";
import { internRepeatedStrings, StringPool } from "../../kube/intern.ts";
import { WriteCounter } from "../../kube/writes.ts";
import type { ConfigMapObject } from "../../model/bundle/configmap.ts";
import { BUNDLE_CONFIGMAP_NAME, BUNDLE_SEGMENT_LABEL, BUNDLE_SIGNING_SECRET_NAME, MANAGED_BY, MANAGED_BY_LABEL } from "../../model/names.ts";
import type { PolicyReason } from "../../model/reasons.ts";
import type { Reason } from "../../model/reasons.ts";
import type { SecretObject } from "../../model/signing-key/secret.ts";
import { DEFAULT_ISSUER_FORM, type IssuerForm } from "../../token/index.ts";
import { secretSigner } from "../../model/signing-key/signer.ts";
import { BYPASS_REASON, bypassGauge, bypassReconciler, INJECTED_PODS_SELECTOR, PODS, SERVICES, type PodObject, type ServiceObject } from "../../webhook/bypass.ts";
import { startWebhook, type RunningWebhook, type StartWebhookOptions } from "../../webhook/index.ts";
import { DEFAULT_ISSUER, DEFAULT_LEASE_NAME, DEFAULT_SYSTEM_NAMESPACE, type BundleSigningConfig, type ListenAddress, type LogLevel, type TokenServiceConfig } from "./options.ts";

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
  /** keyward's own namespace: signing-key Secrets, bundle-signing keys, the trust ConfigMap, bundle records. Default keyward-system. */
  systemNamespace?: string;
  /** Bundle signing periods. Default: re-sign after 24 h, rotate every 720 h, overlap 10 min. */
  bundleSigning?: Partial<BundleSigningConfig>;
  /**
   * A label selector on Namespaces: this controller is the shard that owns the
   * namespaces it selects (docs/scale.md). Not with `namespaces`. Each shard needs a
   * Lease of its own (`leaderElection.name`).
   */
  shardSelector?: string;
  /** The `issuer` of every bundle; a tenant's issuer is `{issuer}/{tenant}`. Default "keyward". */
  issuer?: string;
  /** The `iss` of issued tokens: the tenant's issuer (default) or the issuer itself. */
  issuerForm?: IssuerForm;
  /** The token service accepts callers' tokens with the shared `iss` this long after their `iat`. Default 30 days. */
  sharedIssuerWindowSeconds?: number;
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
  /** Revocations bundle.json carries before they move into a revocation segment. Default 1024. */
  bundleSealAt?: number;
  /** How long shutdown waits for in-flight reconciles. Default 25 s. */
  shutdownTimeoutMs?: number;
  /** Makes signing keys. Default the signer's generate (the in-cluster signer: generateSigningKey). */
  mintKey?: KeyFactory;
  /** Per-request timeout of API calls. Default 30 s. */
  requestTimeoutMs?: number;
  /** The token service (src/issuer) on every replica, over the controller's caches; null or absent: off. */
  tokenService?: (TokenServiceConfig & { tlsPollIntervalMs?: number }) | null;
  /** The sidecar-injection webhook (src/webhook) on every replica; null or absent: off. */
  webhook?: Omit<StartWebhookOptions, "client" | "clock" | "log"> | null;
  /** A verifier report counts this long without a heartbeat. Default 3 minutes; null: reports are not read. */
  verifierTtlMs?: number | null;
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
const DEFAULT_BUNDLE_SIGNING: BundleSigningConfig = { resignAfterMs: 24 * 3_600_000, rotateEveryMs: 720 * 3_600_000, overlapMs: 10 * 60_000 };

export async function startController(options: StartControllerOptions = {}): Promise<RunningController> {
  const kubeConfig = options.kubeConfig ?? loadKubeConfig({ path: options.kubeconfigPath ?? undefined, env: options.env ?? process.env }).kubeConfig;
  const clock = options.clock ?? systemClock;
  const destination = options.logDestination === undefined ? {} : { destination: options.logDestination };
  const log = options.logger ?? createLogger({ level: options.logLevel ?? "info", ...destination });
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
  if (namespaces.length > 0 && options.shardSelector !== undefined) throw new Error("startController: namespaces and shardSelector exclude each other");
  const shard = options.shardSelector === undefined ? undefined : shardOf(manager, options.shardSelector);
  const withTokenService = options.tokenService != null;
  const systemNamespace = options.systemNamespace ?? DEFAULT_SYSTEM_NAMESPACE;
  const stores = controllerStores(manager, namespaces, systemNamespace, clock, withTokenService, shard);
  const signer = secretSigner({ secrets: stores.secrets, systemNamespace, read: signingKeysOf });
  if (stores.issuedTokens !== undefined) auditIssuedTokenRevocations(manager, stores.issuedTokens, log);

  const ctx: ControllerContext = {
    client,
    stores,
    clock,
    issuer: options.issuer ?? DEFAULT_ISSUER,
    issuerForm: options.issuerForm ?? DEFAULT_ISSUER_FORM,
    log,
    events: manager.eventRecorder<Reason>(),
    policyEvents: manager.eventRecorder<PolicyReason>(),
    metrics: new ControllerMetrics(manager.metrics.registry),
    reports: new BundleReports(),
    deletedTokens: new DeletedTokens(),
    bundleSizeLimit: options.bundleSizeLimit,
    bundleSealAt: options.bundleSealAt,
    mintKey: options.mintKey ?? ((algorithm) => signer.generate(algorithm)),
    systemNamespace,
    signer,
    verifiers: verifierViews(manager, namespaces, clock, stores, options.verifierTtlMs === undefined ? DEFAULT_VERIFIER_TTL_MS : options.verifierTtlMs),
    bundleSigning: { ...DEFAULT_BUNDLE_SIGNING, ...options.bundleSigning },
  };
  const controllers = addControllers(manager, ctx, options.workers ?? DEFAULT_WORKERS, withTokenService);
  // A namespace that arrived in the shard: its objects were listed while hidden; reconcile them now.
  shard?.onShown((ns) => {
    for (const { controller, keys } of controllers) for (const key of keys()) if (parseKey(key).namespace === ns) controller.enqueue(key);
  });
  if (options.webhook != null) controllers.push(addBypassController(manager, namespaces, clock, options.workers ?? DEFAULT_WORKERS, shard));

  log.info(
    { namespaces: namespaces.length === 0 ? "all" : namespaces, shard: shard?.selector ?? null, systemNamespace, leaderElection: le !== false, issuer: ctx.issuer, issuerForm: ctx.issuerForm },
    "starting keyward controller",
  );
  let tokenService: RunningTokenService | null = null;
  try {
    // A shard knows its namespaces before its other informers list: each lists once, filtered.
    if (shard !== undefined) await shard.start();
    await manager.start();
    const ts = options.tokenService ?? null;
    if (ts !== null) {
      const logger = options.logger ?? createTokenServiceLogger({ level: options.logLevel ?? "info", ...destination });
      tokenService = await startTokenService({
        listen: ts.listen,
        tls: { certFile: ts.certFile, keyFile: ts.keyFile, ...(ts.tlsPollIntervalMs === undefined ? {} : { pollIntervalMs: ts.tlsPollIntervalMs }) },
        issuer: ctx.issuer,
        issuerForm: ctx.issuerForm,
        ...(options.sharedIssuerWindowSeconds === undefined ? {} : { verifier: { sharedIssuerWindowSeconds: options.sharedIssuerWindowSeconds } }),
        ...(ts.publicUrl === null ? {} : { publicUrl: ts.publicUrl }),
        cache: issuerCacheOf(stores),
        systemNamespace,
        signer,
        store: kubeIssuedTokenStore(client),
        events: manager.eventRecorder(),
        logger,
        clock,
      });
    }
  } catch (err) {
    await manager.shutdown();
    throw err;
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
      for (const { controller, keys } of controllers) for (const key of keys()) controller.enqueue(key);
    },
    idle: () => controllers.every(({ controller: c }) => c.queue === undefined || (c.queue.len() === 0 && c.queue.processingCount() === 0)),
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

/**
 * The caches every reconciler reads: one informer per kind (per watched
 * namespace when namespaces are given), Secrets only keyward's, ConfigMaps only
 * the bundles, the tenant namespaces; IssuedTokens with the token service.
 */
/**
 * A cache of one kind: one informer, or one per watched namespace (and per namespace of `also`);
 * with a shard, only the objects of its namespaces and of keyward's own.
 */
function storeFactory(manager: Manager, namespaces: readonly string[], clock: Clock, shard?: NamespaceShard, systemNamespace?: string) {
  const strings = new StringPool();
  return <T extends KubeObject>(resource: Resource, opts: ListWatchOptions = {}, also: readonly string[] = []): Store<T> => {
    const informers = new Map<string, Informer<T>>();
    // Caches keep no managedFields (nothing reads them, and they can be most of an object's
    // size), and share the strings that repeat across objects (src/kube/intern.ts).
    const own = opts.transform ?? ((o: KubeObject) => o);
    const cached: ListWatchOptions = { ...opts, transform: (o: KubeObject) => internRepeatedStrings(own(withoutApplyRecords(o)), strings) };
    const sharded = shard !== undefined && resource.namespaced;
    const ownNamespace = (ns: string | undefined): boolean => ns !== undefined && ns === systemNamespace;
    if (sharded) cached.filter = (o) => ownNamespace(o.metadata?.namespace) || shard.keeps(o);
    if (!resource.namespaced || namespaces.length === 0) informers.set("", manager.informer<T>(resource, cached));
    else for (const ns of new Set([...namespaces, ...also])) informers.set(ns, manager.informer<T>(resource, { ...cached, namespace: ns }));
    if (sharded) shard.track([...informers.values()] as unknown as Informer[]);
    return new Store<T>(informers, clock, sharded ? (ns) => ownNamespace(ns) || shard.shows(ns) : undefined);
  };
}

function shardOf(manager: Manager, selector: string): NamespaceShard {
  return new NamespaceShard(manager.informer<NamespaceObject>(Resources.namespaces, { transform: withoutApplyRecords, labelSelector: selector }), selector);
}

function controllerStores(manager: Manager, namespaces: readonly string[], systemNamespace: string, clock: Clock, withIssuedTokens: boolean, shard?: NamespaceShard): Stores {
  const store = storeFactory(manager, namespaces, clock, shard, systemNamespace);
  const inSystem = storeFactory(manager, [systemNamespace], clock);
  const stores: Stores = {
    apiKeys: store<ApiKey>(Resources.apiKeys),
    accessTokens: store<AccessToken>(Resources.accessTokens),
    accessPolicies: store<AccessPolicy>(Resources.accessPolicies),
    rotationPolicies: store<RotationPolicy>(Resources.rotationPolicies),
    clusterRotationPolicies: store<ClusterRotationPolicy>(Resources.clusterRotationPolicies),
    // The tenants' Secrets and the signing-key Secrets of the system namespace; token Secrets
    // are cached without their token (its digest is what is compared).
    secrets: store<SecretObject>(Resources.secrets, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}`, transform: cachedTokenSecret }, [systemNamespace]),
    configMaps: store<ConfigMapObject>(Resources.configMaps, { fieldSelector: `metadata.name=${BUNDLE_CONFIGMAP_NAME}` }),
    bundleSegments: store<ConfigMapObject>(Resources.configMaps, { labelSelector: BUNDLE_SEGMENT_LABEL }),
    ...(withIssuedTokens ? { issuedTokens: store<IssuedToken>(Resources.issuedTokens) } : {}),
    system: {
      namespace: systemNamespace,
      secrets: inSystem<SecretObject>(Resources.secrets, { fieldSelector: `metadata.name=${BUNDLE_SIGNING_SECRET_NAME}` }),
      configMaps: inSystem<ConfigMapObject>(Resources.configMaps, { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` }),
    },
  };
  // Which tenant namespaces are being deleted: every namespace, or each watched one by name.
  const namespaceInformers = new Map<string, Informer<NamespaceObject>>();
  const namespaceCache = { transform: withoutApplyRecords };
  if (shard !== undefined) namespaceInformers.set("", shard.informer);
  else if (namespaces.length === 0) namespaceInformers.set("", manager.informer<NamespaceObject>(Resources.namespaces, namespaceCache));
  else for (const ns of namespaces) namespaceInformers.set(ns, manager.informer<NamespaceObject>(Resources.namespaces, { ...namespaceCache, fieldSelector: `metadata.name=${ns}` }));
  stores.namespaces = new TenantNamespaces(namespaceInformers);
  stores.apiKeys.addIndex(ROTATION_POLICY_INDEX, (k) => [rotationPolicyIndexValue(k)]);
  stores.accessTokens.addIndex(API_KEY_INDEX, (t) => [apiKeyIndexValue(t)]);
  return stores;
}

/** The verifier reports: a cache of their Leases (by label), with the views and gauges over it; null when off. */
function verifierViews(manager: Manager, namespaces: readonly string[], clock: Clock, stores: Stores, ttlMs: number | null): VerifierViews | null {
  if (ttlMs === null) return null;
  const leases = storeFactory(manager, namespaces, clock)<LeaseObject>(Resources.leases, { labelSelector: VERIFIER_REPORT_SELECTOR });
  const views = new VerifierViews({ leases, configMaps: stores.configMaps, bundleSegments: stores.bundleSegments, clock, ttlMs });
  const pendingSince = (): number[] =>
    stores.apiKeys.list().flatMap((k) => {
      const r = k.status?.revocation;
      return r === undefined || r.enforcedAt !== undefined ? [] : [Date.parse(r.requestedAt)].filter(Number.isFinite);
    }).concat(
      stores.accessTokens.list().flatMap((t) => (revocationUnenforced(t) ? [Date.parse(t.status?.revokedAt ?? "")].filter(Number.isFinite) : [])),
      issuedRevocationsPendingSince(stores.issuedTokens?.list() ?? [], new Date(clock.now())),
    );
  registerVerifierGauges(manager.metrics.registry, views, pendingSince, () => clock.now());
  return views;
}

/** An audit line and an Event when an IssuedToken is revoked (the leader only). */
function auditIssuedTokenRevocations(manager: Manager, issuedTokens: Store<IssuedToken>, log: Logger): void {
  const events = manager.eventRecorder();
  for (const informer of issuedTokens.informers) {
    informer.addHandlers({ update: (before, after) => { if (manager.isLeader()) auditRevocation(before, after, log, events); } });
  }
}

/** A controller and the keys of every object it reconciles (for resync()). */
interface Registered {
  controller: Controller;
  keys: () => string[];
}

/** Every controller on the manager, each with the keys of its primary objects. */
function addControllers(manager: Manager, ctx: ControllerContext, workers: number, withTokenService: boolean): Registered[] {
  const { stores } = ctx;
  const keysOf = <T extends KubeObject>(store: Store<T>) => (): string[] => store.list().map(objectKey);
  const apiKeyController = manager.addController({ name: "apikey", reconcile: apiKeyReconciler(ctx), watches: apiKeyWatches(stores, ctx.systemNamespace, ctx.verifiers), workers });
  // The bundle reconciler hands the bundle's part of an ApiKey's status to the ApiKey controller, its one writer.
  ctx.reports.onChange((key) => { apiKeyController.enqueue(key); });
  const bundleController = manager.addController({ name: "bundle", reconcile: bundleReconciler(ctx), watches: bundleWatches(stores, ctx.systemNamespace), workers });
  // A token whose AccessToken is gone reaches the bundle from its token Secret.
  ctx.deletedTokens.onChange((tenant) => { bundleController.enqueue(bundleKey(tenant)); });
  const registered: Registered[] = [
    { controller: apiKeyController, keys: keysOf(stores.apiKeys) },
    {
      controller: manager.addController({ name: "accesstoken", reconcile: accessTokenReconciler(ctx), watches: accessTokenWatches(stores, ctx.systemNamespace, ctx.verifiers), workers }),
      keys: keysOf(stores.accessTokens),
    },
    {
      controller: bundleController,
      keys: () => [...new Set([...stores.apiKeys.namespaces(), ...stores.configMaps.namespaces()])].map(bundleKey),
    },
    {
      controller: manager.addController({
        name: "keyring",
        reconcile: keyringReconciler(ctx),
        watches: keyringWatches(stores),
        initialKeys: () => [keyringKey(stores.system.namespace)],
        workers: 1,
      }),
      keys: () => [keyringKey(stores.system.namespace)],
    },
    {
      controller: manager.addController({
        name: "tokensecret",
        reconcile: tokenSecretReconciler(ctx, ctx.deletedTokens),
        watches: tokenSecretWatches(stores, ctx.deletedTokens),
        workers,
      }),
      keys: () => stores.secrets.list().filter((s) => tokenSecretPending(stores, s)).map(objectKey),
    },
    {
      controller: manager.addController({ name: "accesspolicy", reconcile: accessPolicyReconciler(ctx), watches: stores.accessPolicies.watchSpecs() }),
      keys: keysOf(stores.accessPolicies),
    },
    {
      controller: manager.addController({ name: "rotationpolicy", reconcile: rotationPolicyReconciler(ctx, "RotationPolicy"), watches: stores.rotationPolicies.watchSpecs() }),
      keys: keysOf(stores.rotationPolicies),
    },
    {
      controller: manager.addController({
        name: "clusterrotationpolicy",
        reconcile: rotationPolicyReconciler(ctx, "ClusterRotationPolicy"),
        watches: stores.clusterRotationPolicies.watchSpecs(),
      }),
      keys: keysOf(stores.clusterRotationPolicies),
    },
    {
      controller: manager.addController({ name: "keysweep", reconcile: keySweepReconciler(ctx), watches: keySweepWatches(stores, ctx.systemNamespace) }),
      keys: () => keySweepKeys(stores, ctx.systemNamespace),
    },
  ];
  if (withTokenService) {
    // Each ApiKey's OAuth 2.0 client credentials follow its annotation.
    registered.push({
      controller: manager.addController({
        name: "clientcredentials",
        reconcile: clientCredentialsReconciler({ client: ctx.client, apiKeys: stores.apiKeys, secrets: stores.secrets, log: ctx.log, events: manager.eventRecorder() }),
        watches: [...stores.apiKeys.watchSpecs(), ...stores.secrets.watchSpecs(clientCredentialsOwnerKeys)],
        workers,
      }),
      keys: keysOf(stores.apiKeys),
    });
  }
  const issuedTokens = stores.issuedTokens;
  if (issuedTokens !== undefined) {
    // A revoked IssuedToken's status: when it was revoked, when every live verifier enforced it.
    registered.push({
      controller: manager.addController({ name: "issuedtoken", reconcile: issuedTokenReconciler(ctx), watches: issuedTokenWatches(stores, ctx.verifiers), workers }),
      keys: () => issuedTokens.list().filter((t) => t.spec.revoked === true).map(objectKey),
    });
  }
  return registered;
}

/** With injection: Services that reach an injected app around its verifier are reported (Event and gauge). */
function addBypassController(manager: Manager, namespaces: readonly string[], clock: Clock, workers: number, shard?: NamespaceShard): Registered {
  const store = storeFactory(manager, namespaces, clock, shard);
  const services = store<ServiceObject>(SERVICES);
  const pods = store<PodObject>(PODS, { labelSelector: INJECTED_PODS_SELECTOR });
  const events = manager.eventRecorder<typeof BYPASS_REASON>();
  const gauge = bypassGauge(manager.metrics.registry);
  return {
    controller: manager.addController({
      name: "bypass",
      reconcile: bypassReconciler({ services, pods, warn: (svc, reason, message) => events.warning(svc, reason, message), gauge }),
      watches: [...services.watchSpecs(), ...pods.watchSpecs((p) => services.list(p.metadata?.namespace).map(objectKey))],
      workers,
    }),
    keys: () => services.list().map(objectKey),
  };
}

/** What the token service reads, over the controller's caches. */
function issuerCacheOf(stores: Stores): IssuerCache {
  const informers: { hasSynced(): boolean }[] = [
    ...stores.apiKeys.informers, ...stores.secrets.informers, ...stores.system.configMaps.informers, ...stores.rotationPolicies.informers, ...stores.clusterRotationPolicies.informers,
  ];
  return {
    synced: () => informers.every((i) => i.hasSynced()),
    apiKeys: stores.apiKeys,
    secrets: stores.secrets,
    records: stores.system.configMaps,
    systemNamespace: stores.system.namespace,
    rotationPolicies: stores.rotationPolicies,
    clusterRotationPolicies: stores.clusterRotationPolicies,
  };
}
