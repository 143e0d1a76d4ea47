// Shared setup of the controller's acceptance tests on the real control plane:
// the controller's own identity (a ServiceAccount bound to config/rbac's rules,
// authenticated with a TokenRequest token: not cluster-admin), a clock the test
// moves forward, the controller started in-process with its logs captured, and
// readers for the bundle, Secrets and Events it writes.

import { readFileSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { Writable } from "node:stream";
import { KubeConfig } from "@kubernetes/client-node";
import type { DestinationStream } from "pino";
import { afterAll } from "vitest";
import { parse as parseYaml } from "yaml";
import type { AccessToken, ApiKey, Condition } from "../../../src/api/index.ts";
import { startController, type RunningController, type StartControllerOptions } from "../../../src/cli/controller/start.ts";
import { timerDelay, type Clock, type TimerHandle } from "../../../src/kube/clock.ts";
import { signingKeySecretName } from "../../../src/model/signing-key/location.ts";
import { parseBundle, TokenVerifier, type Bundle, type VerifyResult } from "../../../src/token/index.ts";
import { serviceAccountGroups, serviceAccountKubeConfig, serviceAccountUser, untilAllowed } from "../../config/support/identity.ts";
import { ensureSystemNamespace, eventually, Kube, KubeApiError, type KubeObject } from "../harness/index.ts";

export const REPO_ROOT = new URL("../../../", import.meta.url);

// ---- time ----------------------------------------------------------------------

interface OffsetTimer {
  due: number;
  fn: () => void;
  real: NodeJS.Timeout;
}

/**
 * The wall clock plus an offset the test moves forward. Timers are due at a time
 * on this clock: `advance` re-arms them, so everything due by then fires at once
 * (a rotation a day away happens in milliseconds), and time keeps flowing
 * between advances, so the API server, watches and leases work as usual.
 */
export class OffsetClock implements Clock {
  #offset = 0;
  #timers = new Map<object, OffsetTimer>();

  now(): number {
    return Date.now() + this.#offset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = {};
    const due = this.now() + Math.max(0, ms);
    this.#arm(handle, due, fn);
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    const t = this.#timers.get(handle);
    if (t === undefined) return;
    clearTimeout(t.real);
    this.#timers.delete(handle);
  }

  /** Moves the clock `ms` forward; timers due by then fire. */
  advance(ms: number): void {
    this.#offset += ms;
    for (const [handle, t] of [...this.#timers]) {
      clearTimeout(t.real);
      this.#arm(handle, t.due, t.fn);
    }
  }

  /** Moves the clock forward to `at` (milliseconds since the epoch) if it is later. */
  advanceTo(at: number): void {
    const ms = at - this.now();
    if (ms > 0) this.advance(ms);
  }

  #arm(handle: object, due: number, fn: () => void): void {
    // Node fires a timer of more than MAX_TIMER_DELAY_MS at once: wait in steps.
    const wait = due - this.now();
    const step = timerDelay(wait);
    const real = setTimeout(() => {
      if (step < wait) {
        this.#arm(handle, due, fn);
        return;
      }
      this.#timers.delete(handle);
      fn();
    }, step);
    real.unref();
    this.#timers.set(handle, { due, fn, real });
  }
}

// ---- the controller's identity -------------------------------------------------

interface RbacManifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules: unknown[];
}

function manifest(path: string): RbacManifest {
  return parseYaml(readFileSync(new URL(path, REPO_ROOT), "utf8")) as RbacManifest;
}

/**
 * keyward's system namespace (shared, created when missing), and a ServiceAccount in `namespace` bound to the rules of config/rbac/role.yaml
 * (cluster-wide, through a ClusterRole of the test's own name) and
 * config/rbac/leader_election_role.yaml (in `namespace`, where its Lease lives),
 * and a KubeConfig authenticating as it with a TokenRequest token.
 */
export async function controllerIdentity(kube: Kube, namespace: string, name = "keyward-controller"): Promise<KubeConfig> {
  await ensureSystemNamespace(kube);
  const clusterRole = manifest("config/rbac/role.yaml");
  const leaderRole = manifest("config/rbac/leader_election_role.yaml");
  const roleName = `${clusterRole.metadata.name}-${namespace}-${name}`.slice(0, 253);
  await kube.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } });
  await kube.apply({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: roleName }, rules: clusterRole.rules });
  await kube.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: roleName },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
    subjects: [{ kind: "ServiceAccount", name, namespace }],
  });
  await kube.apply({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: `${leaderRole.metadata.name}-${name}`, namespace }, rules: leaderRole.rules });
  await kube.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `${leaderRole.metadata.name}-${name}`, namespace },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: `${leaderRole.metadata.name}-${name}` },
    subjects: [{ kind: "ServiceAccount", name, namespace }],
  });
  const kc = await serviceAccountKubeConfig(kube, namespace, name, { expirationSeconds: 7200 });
  await untilAllowed(kube, "the controller's RBAC to take effect", serviceAccountUser(namespace, name), { verb: "create", resource: "leases", group: "coordination.k8s.io", namespace }, serviceAccountGroups(namespace));
  afterAll(async () => {
    await kube.delete({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", name: roleName }).catch(() => undefined);
    await kube.delete({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", name: roleName }).catch(() => undefined);
  });
  return kc;
}

// ---- the controller --------------------------------------------------------------

export interface TestController {
  running: RunningController;
  /** Every log line written so far (JSON). */
  logs: string[];
}

export const ISSUER = "https://keyward.test";

/**
 * keyward's own namespace for a controller watching `namespace`: `<namespace>-kw`,
 * created once (bundle-signing keys, trust ConfigMap and records live there, apart
 * from the tenant), deleted after the file.
 */
export async function systemNamespaceFor(namespace: string): Promise<string> {
  const name = `${namespace}-kw`;
  const kube = Kube.fromTestRun();
  try {
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "keyward.dev/test": "integration" } } });
    afterAll(async () => {
      await kube.delete({ apiVersion: "v1", kind: "Namespace", name }).catch(() => undefined);
    });
  } catch (err) {
    if (!(err instanceof KubeApiError) || err.status !== 409) throw err;
  }
  return name;
}

/** The trust ConfigMap of the controller watching `namespace` (its system namespace), as a verifier flag value. */
export function trustConfigMapFor(namespace: string): string {
  return `${namespace}-kw/keyward-bundle-trust`;
}

/** config/trust applied in `systemNamespace`: every service account may read the trust ConfigMap there. */
export async function grantTrustRead(kube: Kube, systemNamespace: string): Promise<void> {
  for (const path of ["config/trust/role.yaml", "config/trust/role_binding.yaml"]) {
    const m = parseYaml(readFileSync(new URL(path, REPO_ROOT), "utf8")) as KubeObject;
    await kube.create({ ...m, metadata: { ...m.metadata, namespace: systemNamespace } });
  }
}

/** Starts the controller in-process on the test namespace with its logs captured at debug level. */
export async function runController(kubeConfig: KubeConfig, namespace: string, opts: Partial<StartControllerOptions> = {}): Promise<TestController> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      logs.push(chunk.toString());
      callback();
    },
  });
  const running = await startController({
    kubeConfig,
    namespaces: [namespace],
    systemNamespace: await systemNamespaceFor(namespace),
    issuer: ISSUER,
    logLevel: "debug",
    logDestination: destination as unknown as DestinationStream,
    workers: 2,
    ...opts,
  });
  return { running, logs };
}

/** Resolves once the controller has nothing queued or in flight, and its Events are written. */
export async function settled(running: RunningController, what = "the controller to settle"): Promise<void> {
  await eventually(what, () => Promise.resolve(running.idle()), { intervalMs: 50 });
  await running.flushEvents();
}

// ---- what the controller wrote -----------------------------------------------------

export interface SecretLike extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** The ApiKey's signing-key Secret: in keyward's system namespace, never in the tenant. */
export function keySecretRef(namespace: string, apiKeyName: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: "v1", kind: "Secret", namespace: `${namespace}-kw`, name: signingKeySecretName(namespace, apiKeyName) };
}

export function decode(secret: SecretLike, key: string): string {
  const value = secret.data?.[key];
  if (value === undefined) throw new Error(`Secret ${secret.metadata.name} has no ${key}`);
  return Buffer.from(value, "base64").toString("utf8");
}

export async function readBundle(kube: Kube, namespace: string): Promise<Bundle | undefined> {
  const cm = await kube.find<KubeObject & { data?: Record<string, string> }>({ apiVersion: "v1", kind: "ConfigMap", namespace, name: "keyward-bundle" });
  const text = cm?.data?.["bundle.json"];
  return text === undefined ? undefined : parseBundle(text);
}

export async function readJwks(kube: Kube, namespace: string): Promise<{ keys: { kid: string }[] }> {
  const cm = await kube.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: "v1", kind: "ConfigMap", namespace, name: "keyward-bundle" });
  return JSON.parse(cm.data?.["jwks.json"] ?? "{}") as { keys: { kid: string }[] };
}

export function condition(obj: { status?: { conditions?: Condition[] } } | undefined, type: string): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

export function apiKeyRef(namespace: string, name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", namespace, name };
}

export function accessTokenRef(namespace: string, name: string): { apiVersion: string; kind: string; namespace: string; name: string } {
  return { apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", namespace, name };
}

export async function getApiKey(kube: Kube, namespace: string, name: string): Promise<ApiKey> {
  return (await kube.get(apiKeyRef(namespace, name))) as unknown as ApiKey;
}

export async function getAccessToken(kube: Kube, namespace: string, name: string): Promise<AccessToken> {
  return (await kube.get(accessTokenRef(namespace, name))) as unknown as AccessToken;
}

/** Polls until the ApiKey's condition `type` has `status` (and `reason`, when given). */
export async function apiKeyWhen(kube: Kube, namespace: string, name: string, probe: (k: ApiKey) => boolean, what: string): Promise<ApiKey> {
  return eventually(`ApiKey ${namespace}/${name}: ${what}`, async () => {
    const k = (await kube.find(apiKeyRef(namespace, name))) as unknown as ApiKey | undefined;
    return k !== undefined && probe(k) ? k : undefined;
  });
}

export async function accessTokenWhen(kube: Kube, namespace: string, name: string, probe: (t: AccessToken) => boolean, what: string): Promise<AccessToken> {
  return eventually(`AccessToken ${namespace}/${name}: ${what}`, async () => {
    const t = (await kube.find(accessTokenRef(namespace, name))) as unknown as AccessToken | undefined;
    return t !== undefined && probe(t) ? t : undefined;
  });
}

export interface CoreEventLike extends KubeObject {
  involvedObject: { kind?: string; name?: string; uid?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
}

export async function eventsOf(kube: Kube, namespace: string, name?: string): Promise<CoreEventLike[]> {
  const events = await kube.list<CoreEventLike>({ apiVersion: "v1", kind: "Event", namespace });
  return name === undefined ? events : events.filter((e) => e.involvedObject.name === name);
}

/**
 * Waits until `name` has at least `count` Events with `reason`. Events are recorded after the
 * write they report, so a test that has seen the write may list them a moment too early.
 */
export async function eventSeen(kube: Kube, namespace: string, name: string, reason: string, count = 1): Promise<CoreEventLike[]> {
  return eventually(`${String(count)} ${reason} Event(s) of ${name}`, async () => {
    const events = (await eventsOf(kube, namespace, name)).filter((e) => e.reason === reason);
    return events.length >= count ? events : undefined;
  });
}

/** Verifies `token` against `bundle` at `nowMs` for a GET of `path`. */
export function verify(token: string, bundle: Bundle, nowMs: number, path = "/api/v0/reports"): VerifyResult {
  const verifier = new TokenVerifier({ cacheSize: 0 });
  return verifier.verify(token, { method: "GET", path }, verifier.load(bundle), nowMs);
}

/** The private members of every signing key in the ApiKey's Secret. */
export function privateMembers(secret: SecretLike): string[] {
  const doc = JSON.parse(decode(secret, "keys.json")) as { keys: { jwk: Record<string, string> }[] };
  const out: string[] = [];
  for (const k of doc.keys) for (const m of ["d", "p", "q", "dp", "dq", "qi"]) if (k.jwk[m] !== undefined) out.push(k.jwk[m]);
  return out;
}

export function isTrue(c: Condition | undefined): boolean {
  return c?.status === "True";
}

// ---- a network path the test can cut -------------------------------------------------

export interface Cuttable {
  /** The kubeconfig through the path. */
  kubeConfig: KubeConfig;
  /** Cuts every connection and refuses new ones: the replica can no longer reach the API server. */
  cut(): Promise<void>;
}

/**
 * Puts a TCP relay on 127.0.0.1 between a replica and the API server, so the test
 * can take the replica off the network (as a crash or a partition would)
 * without it releasing anything.
 */
export async function throughRelay(kubeConfig: KubeConfig): Promise<Cuttable> {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error("the kubeconfig has no current cluster");
  const target = new URL(cluster.server);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const user = kubeConfig.getCurrentUser();
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "relay", server: `https://127.0.0.1:${port}`, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: false }],
    users: [{ name: user?.name ?? "user", token: user?.token }],
    contexts: [{ name: "relay", cluster: "relay", user: user?.name ?? "user" }],
    currentContext: "relay",
  });
  return {
    kubeConfig: kc,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => { resolve(); }));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

/**
 * The token in an AccessToken's Secret once the Secret holds the token its status
 * names (the status is written first, the Secret right after).
 */
export async function currentToken(kube: Kube, namespace: string, name: string): Promise<string> {
  return eventually(`the Secret of AccessToken ${namespace}/${name} to hold the token its status names`, async () => {
    const at = await getAccessToken(kube, namespace, name);
    const secret = await kube.find<SecretLike>({ apiVersion: "v1", kind: "Secret", namespace, name: at.spec.secretName ?? name });
    const jti = at.status?.jti;
    if (secret === undefined || jti === undefined || secret.metadata.annotations?.["keyward.dev/jti"] !== jti || secret.data?.token === undefined) return undefined;
    return decode(secret, "token");
  });
}
