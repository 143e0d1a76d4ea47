// Sidecar injection: `npm run bench:injection` (node bench/injection.bench.ts).
//
// What the admission webhook adds to a Pod create. On a control plane of its own (a real
// kube-apiserver and etcd), the webhook runs in-process as the controller runs it (HTTPS, its own
// CA and serving pair, the caBundle written by the rotator), registered with the
// MutatingWebhookConfiguration of config/webhook (URL client config, narrowed to the bench's
// namespace). In one run, interleaved one by one: a Pod create that the webhook selects
// (labelled keyward.dev/inject: "true", so the API server calls the webhook and applies its
// patch) and the same create without the label (never sent to the webhook). The time of each
// create is measured at the client, from the request to the API server's answer.
//
// Writes the section "Sidecar injection webhook" of docs/benchmarks.md unless run with
// --no-write. Options: --count N (Pods of each kind, default 300).

import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";
import { freePorts, resolveAssets, startControlPlane, type ControlPlane } from "../src/controlplane/index.ts";
import { KubeClient } from "../src/kube/client.ts";
import { systemClock } from "../src/kube/clock.ts";
import { loadKubeConfig } from "../src/kube/config.ts";
import { silentLogger } from "../src/kube/logger.ts";
import { Resources, type Resource } from "../src/kube/resources.ts";
import type { KubeObject } from "../src/kube/types.ts";
import { MUTATING_WEBHOOK_CONFIGURATIONS, startWebhook, type RunningWebhook } from "../src/webhook/index.ts";
import { machine, percentile } from "./lib/measure.ts";
import { replaceSection, table } from "./lib/markdown.ts";

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(SELF, "..", "..");
const DOCS = join(ROOT, "docs", "benchmarks.md");
const SYSTEM = "keyward-system";
const TENANT = "bench-injection";
const PODS: Resource = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
const SERVICE_ACCOUNTS: Resource = { group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true };

const { values: args } = parseArgs({
  options: {
    count: { type: "string", default: "300" },
    "no-write": { type: "boolean", default: false },
  },
});
const N = Number(args.count);
if (!Number.isInteger(N) || N < 10 || N > 5000) throw new Error("--count must be a whole number from 10 to 5000");

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

let controlPlane: ControlPlane | undefined;
let webhook: RunningWebhook | undefined;
async function stopEverything(): Promise<void> {
  await webhook?.stop();
  await controlPlane?.stop();
}
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(s, () => {
    log(`${s}: stopping`);
    void stopEverything().finally(() => process.exit(130));
  });
}

/** Nearest-rank percentile of sorted values. */

async function until(what: string, test: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await test())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function pod(name: string, inject: boolean): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: TENANT, labels: inject ? { app: "web", "keyward.dev/inject": "true" } : { app: "web" } },
    spec: { containers: [{ name: "app", image: "echo:1", ports: [{ containerPort: 8080 }] }] },
  } as KubeObject;
}

async function main(): Promise<void> {
  const started = performance.now();
  const load = loadavg();
  const m = machine();
  const assets = await resolveAssets({ log });
  if (assets.kind !== "binaries") throw new Error("bench:injection starts its own control plane: unset KEYWARD_TEST_KUBECONFIG");
  controlPlane = await startControlPlane({ assetsDir: assets.dir, crdDir: join(ROOT, "crds"), log });
  const client = new KubeClient({ kubeConfig: loadKubeConfig({ path: controlPlane.kubeconfigPath }).kubeConfig, fieldManager: "keyward-bench" });
  for (const name of [SYSTEM, TENANT]) await client.create(Resources.namespaces, { metadata: { name } });

  const [port] = await freePorts(1);
  if (port === undefined) throw new Error("no free port");
  const configuration = parseAllDocuments(readFileSync(join(ROOT, "config", "webhook", "webhook.yaml"), "utf8"))[0]!.toJSON() as KubeObject & {
    webhooks: { clientConfig: unknown; namespaceSelector: { matchExpressions: unknown[] } }[];
  };
  for (const w of configuration.webhooks) {
    w.clientConfig = { url: `https://127.0.0.1:${port}/inject` };
    w.namespaceSelector.matchExpressions.push({ key: "kubernetes.io/metadata.name", operator: "In", values: [TENANT] });
  }
  await client.create(MUTATING_WEBHOOK_CONFIGURATIONS, configuration);
  webhook = await startWebhook({
    host: "127.0.0.1", port, image: "ghcr.io/keyward/keyward:0.1.0", client, clock: systemClock, log: silentLogger,
    namespace: SYSTEM, secretName: "keyward-webhook-tls", configurationName: "keyward-injector", serviceName: "keyward-webhook", extraHosts: ["127.0.0.1"],
  });
  await until("the default ServiceAccount", async () => (await client.find(SERVICE_ACCOUNTS, { namespace: TENANT, name: "default" })) !== undefined);
  // The API server trusts the CA once it has seen the caBundle: wait for a first injected Pod.
  await until("a first injected Pod", async () => {
    try {
      const p = await client.create<KubeObject & { spec?: { initContainers?: unknown[] } }>(PODS, pod(`warm-${Date.now()}`, true));
      return (p.spec?.initContainers?.length ?? 0) === 1;
    } catch {
      return false;
    }
  });

  // Warm-up, then N of each, interleaved so both see the same API server and etcd state.
  for (let i = 0; i < 20; i++) {
    await client.create(PODS, pod(`warm-plain-${i}`, false));
    await client.create(PODS, pod(`warm-injected-${i}`, true));
  }
  const times = { plain: [] as number[], injected: [] as number[] };
  const orders: readonly (readonly ("plain" | "injected")[])[] = [["plain", "injected"], ["injected", "plain"]];
  for (let i = 0; i < N; i++) {
    for (const kind of orders[i % 2]!) {
      const t0 = performance.now();
      const created = await client.create<KubeObject & { spec?: { initContainers?: unknown[] } }>(PODS, pod(`${kind}-${i}`, kind === "injected"));
      times[kind].push(performance.now() - t0);
      if ((created.spec?.initContainers?.length ?? 0) !== (kind === "injected" ? 1 : 0)) throw new Error(`${kind}-${i}: unexpected init containers`);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  await stopEverything();

  const plain = [...times.plain].sort((a, b) => a - b);
  const injected = [...times.injected].sort((a, b) => a - b);
  const ms = (v: number): string => v.toFixed(2);
  const rows = [0.5, 0.9, 0.99].map((q) => [`p${Math.round(q * 100)}`, ms(percentile(plain, q)), ms(percentile(injected, q)), ms(percentile(injected, q) - percentile(plain, q))]);
  rows.push(["mean", ms(plain.reduce((a, b) => a + b, 0) / N), ms(injected.reduce((a, b) => a + b, 0) / N), ms((injected.reduce((a, b) => a + b, 0) - plain.reduce((a, b) => a + b, 0)) / N)]);
  const body = [
    `Command: \`npm run bench:injection\` (\`node bench/injection.bench.ts --count ${N}\`), ${new Date().toISOString().slice(0, 10)}.`,
    `Machine: \`nproc\` ${m.nproc}, ${m.cpu}, Node.js ${m.node}; load average ${load.map((l) => l.toFixed(2)).join(", ")} when the run started. The run took ${seconds.toFixed(1)} s.`,
    "",
    `A Pod create as the client sees it (POST to the answer), ${N} of each, interleaved one by one in the same run on a`,
    "local kube-apiserver and etcd: without the label (never sent to the webhook), and labelled",
    "`keyward.dev/inject: \"true\"` (the API server calls the webhook over HTTPS, applies its JSON Patch and",
    "validates the bigger Pod). The webhook runs in-process as in the controller, with the certificates it made.",
    "",
    table(["ms", "no webhook", "injected", "added"], rows),
    "",
    "\"added\" is the difference of the two columns at each rank (the difference of two percentiles, not a",
    "percentile of differences). It includes everything the label costs: the API server's HTTPS call to the",
    "webhook, applying the patch, and validating and storing a Pod with one more container.",
  ].join("\n");
  process.stdout.write(`${body}\n`);
  if (!args["no-write"]) replaceSection(DOCS, "Sidecar injection webhook", body);
}

main().catch(async (err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  await stopEverything();
  process.exit(1);
});
