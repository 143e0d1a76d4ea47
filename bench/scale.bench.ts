// Scale: `npm run bench:scale -- --size 2.5k` (node bench/scale.bench.ts). Run by hand: the
// larger sizes take minutes. Measures only; it writes nothing into docs/.
//
// On the test harness's control plane (a real kube-apiserver, etcd and kube-controller-manager
// started for the run), `keyward controller` runs as its own process (with --inspect on a local
// port, so that the bench can collect its garbage and read its heap without changing its code):
//
//   empty      the controller's heap after GC with no ApiKey or AccessToken yet
//   cold       N ApiKeys, then 4N AccessTokens (M), created over T tenant namespaces with C
//              creates in flight; measured until every one is Ready (ApiKeys also Published),
//              then until the controller's queues are empty
//   memory     RSS, peak RSS (VmHWM) and the V8 heap after GC, at rest
//   quiet      --quiet-seconds with nothing changing: the writes the controller made (leases aside)
//   resync     from the end of the quiet period until the controller has reconciled N + M more
//              objects and its queues are empty (its --resync-period re-delivers every object):
//              its CPU over that window (/proc) less its idle CPU at the quiet period's rate
//   revocation R AccessTokens of one tenant revoked in a wave (R merge patches, C in flight); a
//              `keyward verifier` watching that tenant's bundle is sent each token every 5 ms
//              from the moment its patch was answered until it answers 401 ERR_TOKEN_REVOKED
//   heap       (--heap-types N) heap snapshots when empty and at rest, summed by type: the N
//              types that grew most (--heap-snapshot FILE also keeps the one at rest, for
//              Chrome DevTools). Writing a snapshot takes the controller's RSS up by about 100
//              MiB that it keeps (2.5k: 275 against 154 MiB at rest): measure RSS with --heap-types 0
//   fan-out    (--fanout 1,100,500) a bundle-sized ConfigMap in a namespace of its own, watched
//              W times by this process (W watch streams of the project's KubeClient, field
//              selector on the name, as the verifier watches); U updates, each awaited until
//              every watcher has seen it; kube-apiserver CPU per update from /proc
//
// --node-options "..." runs the controller's Node.js with these options (e.g. heap limits).
// --compiled runs the controller from dist/ (`hack/dev build` first), as the image does, instead of
// from the TypeScript sources: Node.js's type stripping costs the process about 19 MiB of RSS.
//
// Sizes: --size 2.5k (500 ApiKeys, 2,000 AccessTokens, 10 tenants), 10k (2,000 / 8,000 / 40),
// 25k (5,000 / 20,000 / 100), or --api-keys N --tokens M --tenants T. Ctrl-C stops everything
// it started.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import { loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { AccessToken, ApiKey } from "../src/api/index.ts";
import { freePorts, resolveAssets, startControlPlane, type ControlPlane } from "../src/controlplane/index.ts";
import { answerCode, createSystemNamespace, HttpProbe, KEYWARD_CLI, Supervisor, writeVerifierKubeconfig } from "../src/demo/index.ts";
import { KubeClient } from "../src/kube/client.ts";
import { loadKubeConfig } from "../src/kube/config.ts";
import { createInformer, type Informer } from "../src/kube/informer.ts";
import { Resources } from "../src/kube/resources.ts";
import type { KubeObject } from "../src/kube/types.ts";
import { heapAfterGc } from "./lib/heap.ts";
import { heapByType, heapGrowth } from "./lib/heap-snapshot.ts";
import { cpuSeconds, machine, percentile, statusKiB } from "./lib/measure.ts";
import { table } from "./lib/markdown.ts";
import { scrape, sum, type Sample } from "./lib/metrics.ts";
import { pool, ready, waiter } from "./lib/tasks.ts";
import { startUpstream } from "./lib/upstream.ts";
import { ask, firstRefusal } from "./lib/verifier-probe.ts";

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, "..", "..");
const LABEL = "keyward.dev/bench";
const ISSUER = "https://keyward.bench";
const BUNDLE = "keyward-bundle";
const PATH = "/api/v0/reports";
const POLL_MS = 5;
const FANOUT_NS = "bench-fanout";
const MiB = 2 ** 20;

const SIZES: Record<string, { apiKeys: number; tokens: number; tenants: number }> = {
  "2.5k": { apiKeys: 500, tokens: 2000, tenants: 10 },
  "10k": { apiKeys: 2000, tokens: 8000, tenants: 40 },
  "25k": { apiKeys: 5000, tokens: 20000, tenants: 100 },
};

const { values: args } = parseArgs({
  options: {
    size: { type: "string", default: "2.5k" },
    "api-keys": { type: "string" },
    tokens: { type: "string" },
    tenants: { type: "string" },
    concurrency: { type: "string", default: "16" },
    workers: { type: "string", default: "16" },
    "resync-period": { type: "string", default: "60s" },
    "quiet-seconds": { type: "string", default: "15" },
    revocations: { type: "string", default: "50" },
    fanout: { type: "string", default: "1,100,500" },
    "fanout-updates": { type: "string", default: "50" },
    "heap-types": { type: "string", default: "15" },
    "heap-snapshot": { type: "string" },
    "node-options": { type: "string", default: "" },
    compiled: { type: "boolean", default: false },
  },
});
const preset = SIZES[args.size];
if (preset === undefined) throw new Error(`--size must be one of ${Object.keys(SIZES).join(", ")}`);
const N = Number(args["api-keys"] ?? preset.apiKeys);
const M = Number(args.tokens ?? preset.tokens);
const T = Number(args.tenants ?? preset.tenants);
const C = Number(args.concurrency);
const W = Number(args.workers);
const Q = Number(args["quiet-seconds"]);
const R = Number(args.revocations);
const U = Number(args["fanout-updates"]);
const HEAP_TYPES = Number(args["heap-types"]);
if (!Number.isInteger(HEAP_TYPES) || HEAP_TYPES < 0) throw new Error("--heap-types must be a whole number (0: no heap snapshot)");
const FANOUT = args.fanout === "" ? [] : args.fanout.split(",").map(Number);
for (const [flag, v] of [["--api-keys", N], ["--tokens", M], ["--tenants", T], ["--concurrency", C], ["--workers", W], ["--quiet-seconds", Q], ["--revocations", R], ["--fanout-updates", U], ...FANOUT.map((f) => ["--fanout", f] as const)] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive whole number`);
}

function log(line: string): void {
  process.stderr.write(`[bench] ${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

// ---------------------------------------------------------------- cleanup, also on Ctrl-C

let controlPlane: ControlPlane | undefined;
const supervisors: Supervisor[] = [];
let upstream: Server | undefined;
const probes: HttpProbe[] = [];
let workDir: string | undefined;
let stopping: Promise<void> | undefined;
const watchers = new AbortController();

function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    watchers.abort();
    for (const p of probes) p.close();
    if (upstream !== undefined) {
      const u = upstream;
      await new Promise<void>((resolve) => { u.close(() => { resolve(); }); u.closeAllConnections(); });
    }
    for (const s of supervisors) await s.stopAll();
    await controlPlane?.stop();
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  })();
  return stopping;
}

let signals = 0;
function onSignal(signal: NodeJS.Signals): void {
  signals++;
  if (signals > 1) process.exit(130);
  log(`${signal}: stopping everything this bench started (again to kill at once)`);
  void stopEverything().finally(() => process.exit(130));
}
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, onSignal);
process.on("exit", () => { for (const s of supervisors) s.killNow(); });

// ---------------------------------------------------------------- small tools


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const stopped = (): void => {
  if (stopping !== undefined) throw new Error("interrupted");
};
const until = waiter(30 * 60_000, stopped);

/** Polls the token every POLL_MS from t0 until the verifier refuses it; returns t1 − t0. */
const refusedAfter = async (probe: HttpProbe, token: string, t0: number, what: string): Promise<number> =>
  (await firstRefusal(probe, token, t0, what, { path: PATH, pollMs: POLL_MS, timeoutMs: 60_000, check: stopped })).t1 - t0;


/** The controller's writes, leases (leader election) aside. */
function writes(s: Sample[], resource?: string, verb?: string): number {
  return sum(s, "keyward_api_writes_total", (l) => l.resource !== "leases.coordination.k8s.io" && (resource === undefined || l.resource === resource) && (verb === undefined || l.verb === verb));
}



function benchCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}


const f1 = (v: number): string => v.toFixed(1);
const f2 = (v: number): string => v.toFixed(2);
const mib = (bytes: number): string => `${f1(bytes / MiB)} MiB`;
const kib = (bytes: number): string => `${f1(bytes / 1024)} KiB`;



// ---------------------------------------------------------------- the run

async function main(): Promise<void> {
  const runStart = performance.now();
  const loadStart = loadavg();
  const m = machine();
  log(`size: ${N} ApiKeys, ${M} AccessTokens, ${T} tenants; load average ${loadStart.map(f2).join(", ")}`);

  const assets = await resolveAssets({ log });
  if (assets.kind !== "binaries") throw new Error("bench:scale starts its own control plane: unset KEYWARD_TEST_KUBECONFIG");
  controlPlane = await startControlPlane({ assetsDir: assets.dir, crdDir: join(ROOT, "crds"), log });
  const cp = controlPlane;
  workDir = mkdtempSync(join(tmpdir(), "keyward-scale-"));
  const client = new KubeClient({ kubeConfig: loadKubeConfig({ path: cp.kubeconfigPath }).kubeConfig, fieldManager: "keyward-bench" });

  // keyward's own namespace: the controller keeps the signing keys there.
  await client.create(Resources.namespaces, { metadata: { name: "keyward-system" } });
  const tenants = Array.from({ length: T }, (_, t) => `bench-${t}`);
  for (const ns of tenants) {
    await client.create(Resources.namespaces, { metadata: { name: ns } });
    await client.create(Resources.accessPolicies, {
      metadata: { name: "reads", namespace: ns },
      spec: { rules: [{ methods: ["GET"], paths: ["/api/**"] }] },
    } as KubeObject);
  }

  // ---- the controller, its own process, with the inspector on a local port
  const [metricsPort, healthPort, inspectPort, verifierPort, verifierAdminPort] = await freePorts(5);
  if (metricsPort === undefined || healthPort === undefined || inspectPort === undefined || verifierPort === undefined || verifierAdminPort === undefined) throw new Error("no free ports");
  const cli = args.compiled ? join(ROOT, "bin", "keyward.js") : KEYWARD_CLI;
  if (args.compiled && !existsSync(join(ROOT, "dist", "cli", "main.js"))) throw new Error("--compiled runs dist/: run `hack/dev build` first");
  const controllerSupervisor = new Supervisor({ dir: workDir, stopGraceMs: 10_000, command: [process.execPath, `--inspect=127.0.0.1:${inspectPort}`, ...args["node-options"].split(" ").filter((o) => o !== ""), cli] });
  const supervisor = new Supervisor({ dir: workDir, stopGraceMs: 5000 });
  supervisors.push(controllerSupervisor, supervisor);
  // keyward's own namespace (bundle-signing keys, records, the trust ConfigMap every verifier may read).
  await createSystemNamespace(client, "keyward-system", join(ROOT, "config", "trust"));
  const controller = controllerSupervisor.start("controller", [
    "controller",
    "--kubeconfig", cp.kubeconfigPath,
    "--issuer", ISSUER,
    "--metrics-bind-address", `127.0.0.1:${metricsPort}`,
    "--health-probe-bind-address", `127.0.0.1:${healthPort}`,
    "--log-level", "warn",
    "--workers", String(W),
    "--resync-period", args["resync-period"],
  ]);
  const health = new HttpProbe(`http://127.0.0.1:${healthPort}`, { timeoutMs: 5000 });
  probes.push(health);
  await controllerSupervisor.waitHealthy(controller, health, "/readyz", { timeoutMs: 60_000 });
  const pid = controller.pid;
  await sleep(2000);
  const empty = await heapAfterGc(inspectPort);
  const emptyRss = { anon: statusKiB(pid, "RssAnon") * 1024, file: statusKiB(pid, "RssFile") * 1024 };
  const emptyTypes = HEAP_TYPES === 0 ? [] : await heapByType(inspectPort);
  log(`controller ready; empty: heap after GC ${mib(empty.heapUsed)}, RSS ${mib(empty.rss)}`);

  // ---- cold start
  const selector = `${LABEL}=1`;
  const keys: Informer<ApiKey & KubeObject> = createInformer(client, Resources.apiKeys, { labelSelector: selector, resyncPeriodMs: 0 });
  const tokens: Informer<AccessToken & KubeObject> = createInformer(client, Resources.accessTokens, { labelSelector: selector, resyncPeriodMs: 0 });
  keys.start();
  tokens.start();
  await keys.waitForSync();
  await tokens.waitForSync();
  let readyKeys = 0;
  let readyTokens = 0;
  const allReady = (): boolean => {
    readyKeys = keys.list().filter((k) => ready(k) && ready(k, "Published")).length;
    readyTokens = tokens.list().filter((t) => ready(t)).length;
    return readyKeys === N && readyTokens === M;
  };
  const quiet = async (): Promise<boolean> => {
    const s = await scrape(metricsPort);
    return sum(s, "keyward_workqueue_depth") === 0 && sum(s, "keyward_workqueue_in_flight") === 0;
  };

  const before = await scrape(metricsPort);
  const cpuBefore = { controller: cpuSeconds(pid), apiServer: cpuSeconds(cp.pids.apiServer), etcd: cpuSeconds(cp.pids.etcd) };
  const coldStart = performance.now();
  const progress = setInterval(() => { log(`cold start: ${readyKeys}/${N} ApiKeys, ${readyTokens}/${M} AccessTokens Ready after ${f1((performance.now() - coldStart) / 1000)} s`); }, 15_000);
  try {
    await pool(N, C, (i) =>
      client.create(Resources.apiKeys, {
        metadata: { name: `key-${i}`, namespace: tenants[i % T], labels: { [LABEL]: "1" } },
        spec: { policies: ["reads"] },
      } as KubeObject),
    );
    await pool(M, C, (j) =>
      client.create(Resources.accessTokens, {
        metadata: { name: `token-${j}`, namespace: tenants[(j % N) % T], labels: { [LABEL]: "1" } },
        spec: { apiKeyName: `key-${j % N}` },
      } as KubeObject),
    );
    const createdMs = performance.now() - coldStart;
    await until("every ApiKey and AccessToken Ready", allReady, 200);
    const readyMs = performance.now() - coldStart;
    log(`cold: all Ready in ${f1(readyMs / 1000)} s (created in ${f1(createdMs / 1000)} s)`);
    await until("the controller's queues to empty", async () => (await quiet()) && (await quiet()), 200);
    const idleMs = performance.now() - coldStart;
    clearInterval(progress);
    const after = await scrape(metricsPort);
    const cpuCold = { controller: cpuSeconds(pid) - cpuBefore.controller, apiServer: cpuSeconds(cp.pids.apiServer) - cpuBefore.apiServer, etcd: cpuSeconds(cp.pids.etcd) - cpuBefore.etcd };
    const delta = (resource?: string, verb?: string): number => writes(after, resource, verb) - writes(before, resource, verb);
    const secretWrites = delta("secrets");
    const perToken = (delta("accesstokens.keyward.dev") + delta("accesstokens.keyward.dev/status") + (secretWrites - N)) / M;
    const perKey = (delta("apikeys.keyward.dev") + delta("apikeys.keyward.dev/status") + N) / N;
    const bundleWrites = delta("configmaps");
    const totalWrites = delta();
    log(`writes: ${totalWrites}; per AccessToken ${f2(perToken)}, per ApiKey ${f2(perKey)}, bundle ${bundleWrites}`);

    // ---- memory at rest, then a quiet period, then a full resync
    const rest = await heapAfterGc(inspectPort);
    const peak = statusKiB(pid, "VmHWM") * 1024;
    const restRss = { anon: statusKiB(pid, "RssAnon") * 1024, file: statusKiB(pid, "RssFile") * 1024 };
    log(`at rest: heap after GC ${mib(rest.heapUsed)}, RSS ${mib(rest.rss)}, peak RSS ${mib(peak)}`);
    log(`at rest: V8 heap spaces committed: ${Object.entries(rest.spaces).map(([name, bytes]) => `${name} ${mib(bytes)}`).join(", ")}`);
    const heapTypes = HEAP_TYPES === 0 ? [] : heapGrowth(emptyTypes, await heapByType(inspectPort, args["heap-snapshot"] ?? null)).slice(0, HEAP_TYPES);
    const quietStart = await scrape(metricsPort);
    const quietCpu0 = cpuSeconds(pid);
    const quietApi0 = cpuSeconds(cp.pids.apiServer);
    await sleep(Q * 1000);
    const quietEnd = await scrape(metricsPort);
    const quietWrites = writes(quietEnd) - writes(quietStart);
    const quietReconciles = sum(quietEnd, "keyward_reconcile_total") - sum(quietStart, "keyward_reconcile_total");
    const quietCpu = cpuSeconds(pid) - quietCpu0;
    const quietApiCpu = cpuSeconds(cp.pids.apiServer) - quietApi0;
    log(`quiet ${Q} s: ${quietWrites} writes, ${quietReconciles} reconciles, controller CPU ${f2(quietCpu)} s`);

    const resync0 = sum(quietEnd, "keyward_reconcile_total");
    const resyncWrites0 = writes(quietEnd);
    const resyncCpu0 = cpuSeconds(pid);
    const resyncT0 = performance.now();
    await until("a full resync to be processed", async () => {
      const s = await scrape(metricsPort);
      return sum(s, "keyward_reconcile_total") >= resync0 + N + M && (await quiet()) && (await quiet());
    }, 500, 10 * 60_000);
    const resyncEnd = await scrape(metricsPort);
    const resyncReconciles = sum(resyncEnd, "keyward_reconcile_total") - resync0;
    const resyncWrites = writes(resyncEnd) - resyncWrites0;
    const resyncWindow = (performance.now() - resyncT0) / 1000;
    const resyncCpu = cpuSeconds(pid) - resyncCpu0;
    // The window holds one resync when it is shorter than --resync-period; the controller's idle
    // CPU over the window (at the quiet period's rate) is taken off.
    const cpuPerResync = resyncCpu - (quietCpu / Q) * resyncWindow;
    log(`resync: ${resyncReconciles} reconciles in a ${f1(resyncWindow)} s window, ${resyncWrites} writes, controller CPU ${f2(resyncCpu)} s`);
    await keys.stop();
    await tokens.stop();

    // ---- a revocation wave in tenant bench-0, seen by a verifier watching its bundle
    const tenant = tenants[0] ?? "";
    const inTenant = Array.from({ length: M }, (_, j) => j).filter((j) => (j % N) % T === 0).slice(0, R).map((j) => `token-${j}`);
    const secrets = await client.list<KubeObject & { data?: Record<string, string> }>(Resources.secrets, { namespace: tenant });
    const tokenOf = new Map<string, string>();
    for (const s of secrets.items) {
      const t = s.data?.token;
      const name = s.metadata?.name;
      if (name !== undefined && t !== undefined) tokenOf.set(name, Buffer.from(t, "base64").toString("utf8"));
    }
    const bundleCm = await client.get<KubeObject & { data?: Record<string, string> }>(Resources.configMaps, { name: BUNDLE, namespace: tenant });
    const bundleBytes = Buffer.byteLength(bundleCm.data?.["bundle.json"] ?? "") + Buffer.byteLength(bundleCm.data?.["jwks.json"] ?? "");
    const started = await startUpstream();
    upstream = started.server;
    const kubeconfig = join(workDir, "verifier.kubeconfig");
    await writeVerifierKubeconfig(client, tenant, join(ROOT, "config", "verifier"), kubeconfig);
    const verifier = supervisor.start("verifier", [
      "verifier",
      "--mode", "proxy",
      "--listen", `127.0.0.1:${verifierPort}`,
      "--upstream", started.url,
      "--tenant", tenant,
      "--bundle-configmap", `${tenant}/${BUNDLE}`,
      "--kubeconfig", kubeconfig,
      "--metrics-listen", `127.0.0.1:${verifierAdminPort}`,
      "--log-level", "warn",
    ]);
    const admin = new HttpProbe(`http://127.0.0.1:${verifierAdminPort}`, { timeoutMs: 5000 });
    probes.push(admin);
    await supervisor.waitHealthy(verifier, admin, "/readyz", { timeoutMs: 60_000 });
    const senders = Array.from({ length: 8 }, () => new HttpProbe(`http://127.0.0.1:${verifierPort}`, { timeoutMs: 10_000 }));
    probes.push(...senders);
    for (const [i, name] of inTenant.entries()) {
      const a = await ask(senders[i % senders.length] as HttpProbe, PATH, tokenOf.get(name) ?? "");
      if (a.status !== 200) throw new Error(`the token of AccessToken ${name} got ${a.status} ${String(answerCode(a))} before any revocation`);
    }
    const waveStart = performance.now();
    const propagation: Promise<number>[] = [];
    const patchMs: number[] = [];
    await pool(inTenant.length, C, async (i) => {
      const name = inTenant[i] ?? "";
      const sent = performance.now();
      await client.mergePatch(Resources.accessTokens, { name, namespace: tenant }, { spec: { revoked: true } });
      const t0 = performance.now();
      patchMs.push(t0 - sent);
      propagation.push(refusedAfter(senders[i % senders.length] as HttpProbe, tokenOf.get(name) ?? "", t0, `AccessToken ${name}`));
    });
    const patchesMs = performance.now() - waveStart;
    const wave = (await Promise.all(propagation)).sort((a, b) => a - b);
    const waveMs = performance.now() - waveStart;
    patchMs.sort((a, b) => a - b);
    log(`revocation wave: ${wave.length} tokens, p50 ${f1(percentile(wave, 0.5))} ms, p99 ${f1(percentile(wave, 0.99))} ms; patches sent in ${f1(patchesMs)} ms`);
    await verifier.stop(5000);

    // ---- the report
    const objects = N + M;
    const loadEnd = loadavg();
    const rows: string[][] = [
      ["objects (ApiKeys + AccessTokens, tenants)", `${objects} (${N} + ${M}, ${T})`, ""],
      ["cold start: first create → all Ready", `${f1(readyMs / 1000)} s`, `${f2(readyMs / objects)} ms per object; creates sent in ${f1(createdMs / 1000)} s; queues empty after ${f1(idleMs / 1000)} s`],
      ["controller CPU during the cold start", `${f1(cpuCold.controller)} s`, `${f2((cpuCold.controller * 1000) / objects)} ms per object; kube-apiserver ${f1(cpuCold.apiServer)} s, etcd ${f1(cpuCold.etcd)} s`],
      ["controller V8 heap after GC: empty / at rest", `${mib(empty.heapUsed)} / ${mib(rest.heapUsed)}`, `${kib((rest.heapUsed - empty.heapUsed) / objects)} per object above empty; ${kib(rest.heapUsed / objects)} per object in all`],
      ["controller V8 heap committed (heapTotal) / external memory: empty, at rest", `${mib(empty.heapTotal)} / ${mib(empty.external)}, ${mib(rest.heapTotal)} / ${mib(rest.external)}`, `old space committed at rest ${mib(rest.spaces.old_space ?? Number.NaN)}, code space ${mib(rest.spaces.code_space ?? Number.NaN)}, large objects ${mib(rest.spaces.large_object_space ?? Number.NaN)}`],
      ["controller RSS anonymous / file-backed: empty, at rest", `${mib(emptyRss.anon)} / ${mib(emptyRss.file)}, ${mib(restRss.anon)} / ${mib(restRss.file)}`, "file-backed: the node binary's pages in use"],
      ["controller RSS: empty / at rest / peak (VmHWM)", `${mib(empty.rss)} / ${mib(rest.rss)} / ${mib(peak)}`, `${kib((rest.rss - empty.rss) / objects)} per object above empty (at rest); ${kib(peak / objects)} peak per object${HEAP_TYPES === 0 ? "" : "; raised by the heap snapshot taken when empty (--heap-types 0 to measure RSS)"}`],
      ["writes by the controller in the cold start", String(totalWrites), `bundle ConfigMaps ${bundleWrites} (${f1(bundleWrites / T)} per tenant)`],
      ["writes per AccessToken / per ApiKey", `${f2(perToken)} / ${f2(perKey)}`, "AccessToken: status, token Secret (with its finalizer); ApiKey: finalizer, status, Secret"],
      [`writes at rest (${Q} s with nothing changing)`, String(quietWrites), `${quietReconciles} reconciles; controller CPU ${f2(quietCpu)} s, kube-apiserver ${f2(quietApiCpu)} s`],
      ["full resync: controller CPU", `${f2(cpuPerResync)} s`, `${f1((cpuPerResync * 1e6) / objects)} µs per object; ${resyncReconciles} reconciles, ${resyncWrites} writes in a ${f1(resyncWindow)} s window (${f2(resyncCpu)} s CPU, less ${f2((quietCpu / Q) * resyncWindow)} s idle)`],
      [`revocation wave: ${wave.length} AccessTokens of ${tenant}, patch answered → verifier 401`, `p50 ${f1(percentile(wave, 0.5))} ms, p99 ${f1(percentile(wave, 0.99))} ms`, `max ${f1(wave.at(-1) ?? Number.NaN)} ms; patches ${C} in flight, sent in ${f1(patchesMs)} ms (round trip p50 ${f1(percentile(patchMs, 0.5))} ms); wave over after ${f1(waveMs)} ms; bundle of ${tenant} ${kib(bundleBytes)}`],
    ];
    const report = [
      `Command: \`node bench/scale.bench.ts --size ${args.size}${args["api-keys"] === undefined ? "" : ` --api-keys ${N} --tokens ${M} --tenants ${T}`} --concurrency ${C} --workers ${W} --resync-period ${args["resync-period"]} --quiet-seconds ${Q} --revocations ${R} --fanout ${FANOUT.join(",")} --fanout-updates ${U} --heap-types ${HEAP_TYPES}${args["node-options"] === "" ? "" : ` --node-options "${args["node-options"]}"`}${args.compiled ? " --compiled" : ""}\`, ${new Date().toISOString().slice(0, 16)}Z.`,
      `Machine: \`nproc\` ${m.nproc}, ${m.cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${m.node}; load average ${loadStart.map(f2).join(", ")} at the start, ${loadEnd.map(f2).join(", ")} at the end; until here the run took ${f1((performance.now() - runStart) / 1000)} s.`,
      "",
      table(["what", "measured", "note"], rows),
      "",
      ...(heapTypes.length === 0
        ? []
        : [
            `What the controller's heap gained from empty to at rest, by type (heap snapshots; self sizes; the ${heapTypes.length} largest gains):`,
            "",
            table(["type", "count", "bytes", "per object"], heapTypes.map((h) => [h.type, `+${h.count}`, `+${kib(h.selfBytes)}`, `${f1(h.selfBytes / objects)} B`])),
            "",
          ]),
    ].join("\n");
    process.stdout.write(`${report}\n`);

    // ---- watch fan-out on one bundle-sized ConfigMap
    const fanoutRows: string[][] = [];
    if (FANOUT.length > 0) {
      await client.create(Resources.namespaces, { metadata: { name: FANOUT_NS } });
      await client.create(Resources.configMaps, { metadata: { name: BUNDLE, namespace: FANOUT_NS }, data: { ...bundleCm.data, n: "0" } } as KubeObject);
      let update = 0;
      const measureFanout = async (count: number): Promise<{ apiMs: number; benchMs: number; lagMs: number }> => {
        const local = new AbortController();
        const signal = AbortSignal.any([local.signal, watchers.signal]);
        const seen = new Array<number>(count).fill(-1);
        const streams = Array.from({ length: count }, async (_, w) => {
          try {
            for await (const ev of client.watch<KubeObject & { data?: Record<string, string> }>(Resources.configMaps, { namespace: FANOUT_NS, fieldSelector: `metadata.name=${BUNDLE}`, signal, timeoutSeconds: 3600 })) {
              if (ev.type === "ADDED" || ev.type === "MODIFIED") seen[w] = Number(ev.object.data?.n ?? "-1");
            }
          } catch (error) {
            if (!signal.aborted) throw error;
          }
        });
        const allSeen = (n: number): boolean => seen.every((s) => s >= n);
        // A watch opened while the ConfigMap is being written may start after the state it would
        // have sent as ADDED: updates (not counted) until every watcher has seen one.
        for (let attempt = 0; !allSeen(update); attempt++) {
          if (attempt === 30) throw new Error(`${count} watches did not all start`);
          update++;
          await client.mergePatch(Resources.configMaps, { name: BUNDLE, namespace: FANOUT_NS }, { data: { n: String(update) } });
          const deadline = performance.now() + 2000;
          while (!allSeen(update) && performance.now() < deadline) await sleep(20);
        }
        await sleep(1000);
        const api0 = cpuSeconds(cp.pids.apiServer);
        const bench0 = benchCpu();
        const lags: number[] = [];
        for (let u = 0; u < U; u++) {
          update++;
          const sent = performance.now();
          await client.mergePatch(Resources.configMaps, { name: BUNDLE, namespace: FANOUT_NS }, { data: { n: String(update) } });
          await until(`update ${update} to reach ${count} watchers`, () => allSeen(update), 1, 60_000);
          lags.push(performance.now() - sent);
        }
        const apiMs = ((cpuSeconds(cp.pids.apiServer) - api0) * 1000) / U;
        const benchMs = ((benchCpu() - bench0) * 1000) / U;
        local.abort();
        await Promise.all(streams);
        lags.sort((a, b) => a - b);
        return { apiMs, benchMs, lagMs: percentile(lags, 0.5) };
      };
      for (const count of FANOUT) {
        const r = await measureFanout(count);
        log(`fan-out ${count}: kube-apiserver ${f2(r.apiMs)} ms CPU per update, this process ${f2(r.benchMs)} ms, p50 update → last watcher ${f1(r.lagMs)} ms`);
        fanoutRows.push([String(count), f2(r.apiMs), f2(r.benchMs), f1(r.lagMs)]);
        await sleep(2000);
      }
    }

    if (fanoutRows.length > 0) {
      process.stdout.write([
        "",
        `Watch fan-out: a ConfigMap with the data of ${tenant}'s bundle (${kib(bundleBytes)}), ${U} updates per row, each awaited until every watcher saw it; load average ${loadavg().map(f2).join(", ")} at the end:`,
        "",
        table(["watchers", "kube-apiserver CPU per update (ms)", "watching process CPU per update (ms)", "p50 update → last watcher (ms)"], fanoutRows),
        "",
      ].join("\n"));
    }

  } finally {
    clearInterval(progress);
  }
}

try {
  await main();
} finally {
  await stopEverything();
}
