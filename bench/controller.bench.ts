// Controller throughput: `npm run bench:controller` (node bench/controller.bench.ts).
//
// On the test harness's control plane (a real kube-apiserver, etcd and
// kube-controller-manager started for the run):
//
//   baseline   the time the API server takes to create N + M plain Secrets (the same
//              number of objects, the same number of creates in flight); run before the
//              cold start and again at the end, the faster run counts
//   cold       `keyward controller` runs as its own process; N ApiKeys, then M
//              AccessTokens are created, spread over T tenant namespaces; measured
//              until every one is Ready (ApiKeys also Published), then until the
//              controller's queues are empty
//   at rest    after a full resync (--resync-period) of every object, the writes it made
//   floor      with the controller stopped, the same N ApiKeys and M AccessTokens created
//              in another namespace: what the creates cost the API server alone
//
// Writes are the controller's own count (keyward_api_writes_total on its /metrics),
// peak RSS its VmHWM. Writes the section "Controller" of docs/benchmarks.md unless
// run with --no-write. Options: --api-keys N (500), --tokens M (2000), --tenants T (10),
// --concurrency C (16), --workers W (16: as many reconciles of each kind in flight as the
// baseline has creates).

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { AccessToken, ApiKey } from "../src/api/index.ts";
import { freePorts, resolveAssets, startControlPlane, type ControlPlane } from "../src/controlplane/index.ts";
import { KubeClient } from "../src/kube/client.ts";
import { loadKubeConfig } from "../src/kube/config.ts";
import { createInformer, type Informer } from "../src/kube/informer.ts";
import { Resources } from "../src/kube/resources.ts";
import type { KubeObject } from "../src/kube/types.ts";
import { cpuSeconds, machine } from "./lib/measure.ts";
import { replaceSection, table } from "./lib/markdown.ts";
import { scrape, sum, type Sample } from "./lib/metrics.ts";
import { pool, ready, waiter } from "./lib/tasks.ts";

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, "..", "..");
const DOCS = join(ROOT, "docs", "benchmarks.md");
const LABEL = "keyward.dev/bench";

const { values: args } = parseArgs({
  options: {
    "api-keys": { type: "string", default: "500" },
    tokens: { type: "string", default: "2000" },
    tenants: { type: "string", default: "10" },
    concurrency: { type: "string", default: "16" },
    workers: { type: "string", default: "16" },
    "no-write": { type: "boolean", default: false },
  },
});
const N = Number(args["api-keys"]);
const M = Number(args.tokens);
const T = Number(args.tenants);
const C = Number(args.concurrency);
const W = Number(args.workers);
for (const [flag, v] of [["--api-keys", N], ["--tokens", M], ["--tenants", T], ["--concurrency", C], ["--workers", W]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive whole number`);
}

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

const until = waiter(30 * 60_000);


function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? Number.NaN : Math.round(Number(m[1]) / 1024);
}

async function main(): Promise<void> {
  const load = loadavg()[0] ?? 0;
  const assets = await resolveAssets({ log });
  if (assets.kind !== "binaries") throw new Error("bench:controller starts its own control plane: unset KEYWARD_TEST_KUBECONFIG");
  const cp: ControlPlane = await startControlPlane({ assetsDir: assets.dir, crdDir: join(ROOT, "crds"), log });
  let child: ReturnType<typeof spawn> | undefined;
  try {
    const client = new KubeClient({ kubeConfig: loadKubeConfig({ path: cp.kubeconfigPath }).kubeConfig, fieldManager: "keyward-bench" });

    // ---- baseline: plain Secrets
    // Measured twice, before the cold start and after it, and the faster run counts: a create
    // rate measured over a few seconds moves with whatever else the shared machine does.
    const baselineRun = async (namespace: string): Promise<{ ms: number; apiCpu: number }> => {
      await client.create(Resources.namespaces, { metadata: { name: namespace } });
      const cpuBefore = cpuSeconds(cp.pids.apiServer);
      const start = performance.now();
      await pool(N + M, C, (i) =>
        client.create(Resources.secrets, { metadata: { name: `s-${i}`, namespace }, data: { v: Buffer.from(`value ${i}`).toString("base64") } } as KubeObject),
      );
      const run = { ms: performance.now() - start, apiCpu: cpuSeconds(cp.pids.apiServer) - cpuBefore };
      log(`baseline: ${N + M} Secrets in ${(run.ms / 1000).toFixed(1)} s`);
      return run;
    };
    const baselineBefore = await baselineRun("bench-baseline");

    // ---- keyward's own namespace (the signing keys live there), then the tenants
    await client.create(Resources.namespaces, { metadata: { name: "keyward-system" } });
    const tenants = Array.from({ length: T }, (_, t) => `bench-${t}`);
    for (const ns of tenants) {
      await client.create(Resources.namespaces, { metadata: { name: ns } });
      await client.create(Resources.accessPolicies, {
        metadata: { name: "reads", namespace: ns },
        spec: { rules: [{ methods: ["GET"], paths: ["/api/**"] }] },
      } as KubeObject);
    }

    // ---- the controller, as its own process
    const [metricsPort, healthPort] = await freePorts(2);
    if (metricsPort === undefined || healthPort === undefined) throw new Error("no free ports");
    const started = spawn(
      process.execPath,
      [
        join(ROOT, "src", "cli", "main.ts"),
        "controller",
        "--kubeconfig", cp.kubeconfigPath,
        "--issuer", "https://keyward.bench",
        "--metrics-bind-address", `127.0.0.1:${metricsPort}`,
        "--health-probe-bind-address", `127.0.0.1:${healthPort}`,
        "--log-level", "warn",
        "--workers", String(W),
        "--resync-period", "30s",
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    child = started;
    const pid = started.pid ?? 0;
    await until("the controller to be ready", async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => null))?.status === 200, 100, 60_000);

    // ---- what the bench watches: Ready ApiKeys and AccessTokens
    const selector = `${LABEL}=1`;
    const keys: Informer<ApiKey & KubeObject> = createInformer(client, Resources.apiKeys, { labelSelector: selector, resyncPeriodMs: 0 });
    const tokens: Informer<AccessToken & KubeObject> = createInformer(client, Resources.accessTokens, { labelSelector: selector, resyncPeriodMs: 0 });
    keys.start();
    tokens.start();
    await keys.waitForSync();
    await tokens.waitForSync();
    const allReady = (): boolean =>
      keys.size === N && tokens.size === M && keys.list().every((k) => ready(k) && ready(k, "Published")) && tokens.list().every((t) => ready(t));

    const before = await scrape(metricsPort);
    const cpu = (): Record<string, number> => ({ controller: cpuSeconds(pid), apiServer: cpuSeconds(cp.pids.apiServer), etcd: cpuSeconds(cp.pids.etcd), controllerManager: cpuSeconds(cp.pids.controllerManager), bench: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 });
    const cpuBefore = cpu();
    const coldStart = performance.now();
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
    await until("every ApiKey and AccessToken Ready", allReady, 100);
    const readyMs = performance.now() - coldStart;
    log(`cold: all ${N} ApiKeys and ${M} AccessTokens Ready in ${(readyMs / 1000).toFixed(1)} s (created in ${(createdMs / 1000).toFixed(1)} s)`);
    const quiet = async (): Promise<boolean> => {
      const s = await scrape(metricsPort);
      return sum(s, "keyward_workqueue_depth") === 0 && sum(s, "keyward_workqueue_in_flight") === 0;
    };
    await until("the controller's queues to empty", async () => (await quiet()) && (await quiet()), 200);
    const idleMs = performance.now() - coldStart;
    const after = await scrape(metricsPort);
    const cpuAfter = cpu();
    const cpuDelta = (who: string): number => (cpuAfter[who] ?? 0) - (cpuBefore[who] ?? 0);
    const cpuUsed = (who: string): string => `${cpuDelta(who).toFixed(1)} s`;
    const ours = cpuDelta("controller") + cpuDelta("apiServer") + cpuDelta("etcd") + cpuDelta("controllerManager") + cpuDelta("bench");
    const busy = ours / (machine().nproc * (idleMs / 1000));
    const apiShare = cpuDelta("apiServer") / ours;

    const writes = (s: Sample[], resource?: string, verb?: string): number =>
      sum(s, "keyward_api_writes_total", (l) => (resource === undefined || l.resource === resource) && (verb === undefined || l.verb === verb));
    const delta = (resource?: string, verb?: string): number => writes(after, resource, verb) - writes(before, resource, verb);
    const byResource = [...new Set(after.filter((s) => s.name === "keyward_api_writes_total").map((s) => `${s.labels.resource ?? ""} ${s.labels.verb ?? ""}`))]
      .sort()
      .map((rv) => {
        const [resource = "", verb = ""] = rv.split(" ");
        return { resource, verb, count: delta(resource, verb) };
      })
      .filter((r) => r.count > 0);
    const secretWrites = delta("secrets");
    const perToken = (delta("accesstokens.keyward.dev") + delta("accesstokens.keyward.dev/status") + (secretWrites - N)) / M;
    const perKey = (delta("apikeys.keyward.dev") + delta("apikeys.keyward.dev/status") + N) / N;
    const bundleWrites = delta("configmaps");
    const events = delta("events");
    const total = writes(after) - writes(before);
    const reconcilesBefore = sum(after, "keyward_reconcile_total");
    log(`writes: ${total} (${(total / (idleMs / 1000)).toFixed(0)}/s); per AccessToken ${perToken.toFixed(2)}, per ApiKey ${perKey.toFixed(2)}, bundle ConfigMaps ${bundleWrites}, events ${events}`);

    // ---- at rest: a full resync (every informer re-delivers every object) writes nothing
    await until("a full resync to be processed", async () => {
      const s = await scrape(metricsPort);
      return sum(s, "keyward_reconcile_total") >= reconcilesBefore + N + M && (await quiet()) && (await quiet());
    }, 500, 5 * 60_000);
    const rest = await scrape(metricsPort);
    const restWrites = writes(rest, undefined) - writes(after, undefined) - (sum(rest, "keyward_api_writes_total", (l) => l.resource === "leases.coordination.k8s.io") - sum(after, "keyward_api_writes_total", (l) => l.resource === "leases.coordination.k8s.io"));
    const resyncReconciles = sum(rest, "keyward_reconcile_total") - reconcilesBefore;
    const rss = peakRssMiB(pid);
    const heapMiB = Math.round(sum(rest, "keyward_nodejs_heap_size_used_bytes") / 2 ** 20);
    const rssNowMiB = Math.round(sum(rest, "keyward_process_resident_memory_bytes") / 2 ** 20);
    log(`at rest: ${resyncReconciles} reconciles, ${restWrites} writes; controller peak RSS ${rss} MiB, now ${rssNowMiB} MiB, heap in use ${heapMiB} MiB`);
    await keys.stop();
    await tokens.stop();

    // ---- the floor: the bench's own creates of the same custom resources, with no controller running
    {
      const exited = new Promise((r) => started.once("exit", r));
      started.kill("SIGTERM");
      await exited;
    }
    await client.create(Resources.namespaces, { metadata: { name: "bench-floor" } });
    const floorCpu = cpuSeconds(cp.pids.apiServer);
    const floorStart = performance.now();
    await pool(N, C, (i) =>
      client.create(Resources.apiKeys, { metadata: { name: `key-${i}`, namespace: "bench-floor" }, spec: { policies: ["reads"] } } as KubeObject),
    );
    await pool(M, C, (j) =>
      client.create(Resources.accessTokens, { metadata: { name: `token-${j}`, namespace: "bench-floor" }, spec: { apiKeyName: `key-${j % N}` } } as KubeObject),
    );
    const floorMs = performance.now() - floorStart;
    const floorApiCpu = cpuSeconds(cp.pids.apiServer) - floorCpu;
    log(`floor: ${N} ApiKeys and ${M} AccessTokens created with no controller in ${(floorMs / 1000).toFixed(1)} s`);
    const baselineAfter = await baselineRun("bench-baseline-after");
    const baseline = baselineAfter.ms < baselineBefore.ms ? baselineAfter : baselineBefore;
    const baselineMs = baseline.ms;
    const baselineApiCpu = baseline.apiCpu;

    const m = machine();
    const ratio = readyMs / baselineMs;
    const apiMs = (cpu: number, requests: number): string => ((cpu * 1000) / requests).toFixed(2);
    const patches = byResource.filter((r) => r.verb === "patch" && r.resource.includes(".keyward.dev")).reduce((a, r) => a + r.count, 0);
    const rows: string[][] = [
      [
        "baseline: create N + M plain Secrets (the faster of two runs)",
        `${(baselineMs / 1000).toFixed(1)} s`,
        `${Math.round((N + M) / (baselineMs / 1000))} creates/s; before the cold start ${(baselineBefore.ms / 1000).toFixed(1)} s, after it ${(baselineAfter.ms / 1000).toFixed(1)} s`,
      ],
      ["all ApiKeys and AccessTokens Ready, from the first create", `${(readyMs / 1000).toFixed(1)} s`, `${ratio.toFixed(2)}× the baseline (target ≤ 3×)`],
      ["creates sent by the bench (ApiKeys, then AccessTokens)", `${(createdMs / 1000).toFixed(1)} s`, ""],
      [
        "the same creates with no controller running (after the run, another namespace)",
        `${(floorMs / 1000).toFixed(1)} s`,
        `${(floorMs / baselineMs).toFixed(2)}× the baseline`,
      ],
      ["until the controller's queues were empty", `${(idleMs / 1000).toFixed(1)} s`, ""],
      ["API writes sent by the controller", String(total), `${(total / (idleMs / 1000)).toFixed(0)} writes/s`],
      ["writes per AccessToken (status, token Secret with its finalizer)", perToken.toFixed(2), "target ≤ 2"],
      ["writes per ApiKey (finalizer, status, signing-key Secret)", perKey.toFixed(2), ""],
      ["bundle ConfigMap writes (all tenants)", String(bundleWrites), `${(bundleWrites / T).toFixed(1)} per tenant`],
      ["Events written", String(events), ""],
      ["writes during a full resync at rest (every object reconciled again)", String(restWrites), `${resyncReconciles} reconciles; target 0`],
      [
        "CPU during the cold start: controller / kube-apiserver / etcd / kube-controller-manager / bench",
        `${cpuUsed("controller")} / ${cpuUsed("apiServer")} / ${cpuUsed("etcd")} / ${cpuUsed("controllerManager")} / ${cpuUsed("bench")}`, `${m.nproc} CPUs × ${(idleMs / 1000).toFixed(1)} s available`],
      [
        "kube-apiserver CPU per request: baseline Secret create / custom resource create, no controller / cold start",
        `${apiMs(baselineApiCpu, N + M)} / ${apiMs(floorApiCpu, N + M)} / ${apiMs(cpuDelta("apiServer"), N + M + total)} ms`,
        "cold start: the bench's creates and the controller's writes",
      ],
      ["controller peak RSS (VmHWM)", `${rss} MiB`, `at rest: RSS ${rssNowMiB} MiB, V8 heap in use ${heapMiB} MiB`],
    ];
    const body = [
      `Command: \`npm run bench:controller\` (\`node bench/controller.bench.ts --api-keys ${N} --tokens ${M} --tenants ${T} --concurrency ${C} --workers ${W}\`), ${new Date().toISOString().slice(0, 10)}.`,
      `Machine: \`nproc\` ${m.nproc}, ${m.cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${m.node}; load average ${load.toFixed(2)} when the run started.`,
      "The control plane (kube-apiserver, etcd, kube-controller-manager of the test harness) shares the machine with the",
      "controller and the bench.",
      "",
      `${N} ApiKeys and ${M} AccessTokens in ${T} tenant namespaces (an AccessPolicy each, the built-in rotation policy),`,
      `created by the bench with ${C} creates in flight, ApiKeys first; \`keyward controller\` ran as its own process with`,
      `\`--workers ${W}\`. The baseline creates the same number of plain Secrets the same way on the same API server, once`,
      "before the cold start and once after it (after the run below with no controller); the faster of the two counts.",
      "Write counts are the controller's `keyward_api_writes_total`; its other requests are the informers' list and",
      "watch calls (no per-object reads).",
      "",
      table(["what", "measured", "note"], rows),
      "",
      "Targets:",
      "",
      `- **writes per AccessToken**: ${perToken.toFixed(2)} (target ≤ 2): the status (merge patch at the resourceVersion read;`,
      "  written before the Secret so the token is on record first) and the token Secret (create, with the finalizer that holds",
      "  it for the revocation of a deleted AccessToken, docs/controller.md). A",
      "  first issue records no Event, nor does an ApiKey's first key: their `Ready` condition tells (docs/conditions.md).",
      `- **writes at rest**: ${restWrites} during a resync that reconciled every object again (target 0).`,
      `- **all Ready within 3× the baseline**: ${ratio <= 3 ? "met" : "not met"} (${ratio.toFixed(2)}×). The API server is the bottleneck on`,
      `  this machine: during the cold start it served the bench's ${N + M} creates plus the controller's ${total} writes,`,
      `  ${((N + M + total) / (N + M)).toFixed(1)} times the requests of the baseline, and those are heavier: it spent`,
      `  ${apiMs(cpuDelta("apiServer"), N + M + total)} ms of CPU per request against ${apiMs(baselineApiCpu, N + M)} ms per plain Secret create (custom resources are`,
      "  decoded, pruned, validated with CEL and carry managedFields; a merge patch reads, patches and validates the stored",
      "  object again, and every write goes out as watch events). The control plane, the controller and the bench used",
      `  ${Math.round(busy * 100)} % of the machine's CPU time meanwhile (the rest went to other work on the shared machine), the API`,
      `  server ${Math.round(apiShare * 100)} % of theirs. The bench's own creates of the same ${N + M} custom resources take`,
      `  ${(floorMs / 1000).toFixed(1)} s with no controller running (${(floorMs / baselineMs).toFixed(2)}× the baseline, ${apiMs(floorApiCpu, N + M)} ms of API server CPU each): what costs is`,
      `  the controller's writes, ${patches} of them merge patches of custom resources, and the watch events each one sends.`,
      `  Even at the cost of a plain create, ${total} writes would take ${((total * baselineMs) / (N + M) / 1000).toFixed(1)} s at the baseline's pace on top of the`,
      `  creates; the target allows ${((3 * baselineMs) / 1000).toFixed(1)} s for everything. The controller writes what readiness needs: per object a`,
      "  Secret and one status (an ApiKey's first status waits for the bundle so that it is written once), a finalizer per",
      "  object, and the bundle (one write per tenant in flight, the next carrying everything that changed meanwhile). The",
      `  AccessToken finalizers (${M} merge patches) are the one large part left that a different design could save: see`,
      "  docs/controller.md.",
      "",
      "Writes by resource and verb during the cold start:",
      "",
      table(["resource", "verb", "writes"], byResource.map((r) => [r.resource, r.verb, String(r.count)])),
    ].join("\n");
    process.stdout.write(`${body}\n`);
    if (!args["no-write"]) {
      replaceSection(DOCS, "Controller", body);
      log(`wrote the "Controller" section of ${DOCS}`);
    }
  } finally {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child?.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    await cp.stop();
  }
}

await main();
