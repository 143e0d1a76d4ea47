// Setting the demo up and tearing it down: the cluster (a local control plane, or an existing
// one), the upstream workload, the keyward controller and verifier as child processes running
// the real CLI, the samples, and waiting until every ApiKey and AccessToken is Ready and the
// verifier has the bundle. Each setup step is a timeline step; the teardown leaves nothing.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AccessToken, ApiKey } from "../api/index.ts";
import { freePorts, installCrds, kubeJson, REPO_ROOT, resolveAssets, startControlPlane, type ControlPlane } from "../controlplane/index.ts";
import { Resources, type KubeClient, type KubeObject } from "../kube/index.ts";
import type { DemoOptions } from "./args.ts";
import { accessTokenNotReady, apiKeyNotReady, applyManifests, connect, createSystemNamespace, demoSystemNamespace, missingCrds, shortKid, writeVerifierKubeconfig } from "./cluster.ts";
import { HttpProbe } from "./http.ts";
import { readKustomization, retarget, type Manifest } from "./manifests.ts";
import type { Supervisor } from "./processes.ts";
import { ALLOWED_PATH, DEMO_API_KEY, DEMO_TOKEN } from "./scenario.ts";
import { formatForPeople, type StepContext, type Timeline } from "./timeline.ts";
import { startUpstream, type Upstream } from "./upstream.ts";
import { waitUntil } from "./wait.ts";

/** The issuer the demo's controller signs tokens as. */
export const DEMO_ISSUER = "https://keyward.example";
/** keyward's own namespace: the controller keeps the ApiKeys' signing keys there. */

/** What the setup brought up, filled in step by step; the teardown undoes whatever is there. */
export interface World {
  existing: boolean;
  kubeconfigPath?: string;
  client?: KubeClient;
  controlPlane?: ControlPlane;
  upstream?: Upstream;
  verifierUrl?: string;
  verifierAdminUrl?: string;
  controllerLog?: string;
  verifierLog?: string;
  /** Existing cluster: the namespace and cluster-scoped objects the demo created and deletes. */
  createdNamespace?: string;
  /** The controller's own namespace (signing keys, bundle-signing keys, trust ConfigMap, records), created by the demo. */
  systemNamespace?: string;
  createdClusterObjects: Manifest[];
}

export interface SetupContext {
  options: DemoOptions;
  /** The demo's temporary directory. */
  dir: string;
  timeline: Timeline;
  supervisor: Supervisor;
  world: World;
  signal?: AbortSignal | undefined;
}

export interface SetupStep {
  title: string;
  run: (step: StepContext) => Promise<void>;
}

function localCluster(ctx: SetupContext): SetupStep[] {
  const { world, timeline, dir } = ctx;
  let assetsDir = "";
  return [
    {
      title: "control-plane binaries (kube-apiserver, etcd, kube-controller-manager)",
      run: async (s) => {
        const build = { running: false, done: false, downloads: 0 };
        const env = { ...process.env };
        delete env.KEYWARD_TEST_KUBECONFIG; // the demo's own choice of cluster decides, not the tests'
        const assets = await resolveAssets({
          env,
          log: (line) => {
            const text = line.replace(/^\[test-binaries\] /, "");
            if (text.startsWith("go: downloading ")) {
              // Hundreds of these on a first build: one line per hundred modules.
              if (++build.downloads % 100 === 0) timeline.progress(`${build.downloads} Go modules downloaded`);
              return;
            }
            if (text.startsWith("reusing ")) {
              s.note(text);
              return;
            }
            if (build.done) return; // the versions the script prints after the build
            if (!build.running && text.startsWith("resolving ")) {
              build.running = true;
              timeline.progress("building them from Go modules: the first build takes about 7 minutes on 2 cores, then it is cached");
            }
            timeline.progress(text);
            build.done = text.startsWith("built in ");
          },
        });
        if (assets.kind !== "binaries") throw new Error("expected control-plane binaries");
        assetsDir = assets.dir;
        if (build.running) s.note(`built into ${assets.dir}`);
      },
    },
    {
      title: "control plane",
      run: async (s) => {
        const cp = await startControlPlane({ assetsDir, crdDir: join(REPO_ROOT, "crds"), workDir: dir, readyTimeoutMs: ctx.options.timeoutMs });
        world.controlPlane = cp;
        world.kubeconfigPath = cp.kubeconfigPath;
        world.client = connect(cp.kubeconfigPath);
        s.retitle(`control plane running at ${cp.server}, keyward CRDs installed`);
        s.note(`etcd, kube-apiserver and kube-controller-manager ready in ${formatForPeople(cp.startupMs)}; logs ${cp.dir}/*.log`);
      },
    },
  ];
}

function existingCluster(ctx: SetupContext, kubeconfig: string, source: string): SetupStep[] {
  const { world, options } = ctx;
  const ns = options.namespace;
  return [
    {
      title: "existing cluster",
      run: async (s) => {
        world.kubeconfigPath = kubeconfig;
        const client = connect(kubeconfig);
        world.client = client;
        const version = await kubeJson<{ gitVersion?: string }>(client.kubeConfig, { method: "GET", path: "/version" });
        s.retitle(`existing cluster ${client.server} (Kubernetes ${version.gitVersion ?? "?"})`);
        s.note(`kubeconfig ${kubeconfig} (from ${source}), context ${client.kubeConfig.getCurrentContext()}`);
        const crdDir = join(REPO_ROOT, "crds");
        const missing = await missingCrds(client, crdDir);
        if (missing.length > 0) {
          await installCrds(kubeconfig, crdDir, { timeoutMs: options.timeoutMs });
          s.note(`installed the keyward CRDs (missing: ${missing.join(", ")})`);
        } else {
          s.note("the keyward CRDs are installed already");
        }
        if ((await client.find(Resources.namespaces, { name: ns })) !== undefined) {
          throw new Error(`namespace ${ns} exists already in this cluster; the demo creates its own tenant: pass --namespace with a name that is not taken`);
        }
      },
    },
  ];
}

function upstreamStep(ctx: SetupContext): SetupStep {
  return {
    title: "upstream workload",
    run: async (s) => {
      ctx.world.upstream = await startUpstream();
      s.retitle(`upstream workload at ${ctx.world.upstream.url} (answers 200 to every request it gets)`);
    },
  };
}

function controllerStep(ctx: SetupContext): SetupStep {
  const { world, supervisor, options, signal } = ctx;
  return {
    title: "keyward controller",
    run: async (s) => {
      const [metrics, health] = (await freePorts(2)) as [number, number];
      const system = demoSystemNamespace(options.namespace);
      await createSystemNamespace(world.client!, system, join(REPO_ROOT, "config", "trust"), signal);
      world.systemNamespace = system;
      const child = supervisor.start("controller", [
        "controller",
        "--kubeconfig",
        world.kubeconfigPath!,
        "--namespace",
        options.namespace,
        "--system-namespace",
        system,
        "--issuer",
        DEMO_ISSUER,
        "--metrics-bind-address",
        `127.0.0.1:${metrics}`,
        "--health-probe-bind-address",
        `127.0.0.1:${health}`,
      ]);
      world.controllerLog = child.logPath;
      const probe = new HttpProbe(`http://127.0.0.1:${health}`);
      try {
        await supervisor.waitHealthy(child, probe, "/readyz", { timeoutMs: options.timeoutMs, signal });
      } finally {
        probe.close();
      }
      s.retitle(`keyward controller ready (pid ${child.pid}; keyward controller --namespace ${options.namespace} --issuer ${DEMO_ISSUER})`);
      s.note(`log ${child.logPath}; metrics http://127.0.0.1:${metrics}/metrics`);
    },
  };
}

function samplesStep(ctx: SetupContext): SetupStep {
  const { world, options, signal } = ctx;
  return {
    title: "samples applied",
    run: async (s) => {
      const client = world.client!;
      let manifests = retarget(
        readKustomization(join(REPO_ROOT, "config", "demo"), REPO_ROOT).map((m) => m.object),
        options.namespace,
      );
      if (world.existing) {
        const left: string[] = [];
        const apply: Manifest[] = [];
        for (const m of manifests) {
          if (m.kind === "ClusterRotationPolicy" && (await client.find(Resources.clusterRotationPolicies, { name: m.metadata.name })) !== undefined) {
            left.push(`ClusterRotationPolicy ${m.metadata.name}`);
          } else {
            apply.push(m);
          }
        }
        manifests = apply;
        if (left.length > 0) s.note(`left as it is: ${left.join(", ")} (it exists already)`);
        world.createdNamespace = options.namespace;
        world.createdClusterObjects = manifests.filter((m) => m.kind === "ClusterRotationPolicy");
      }
      await applyManifests(client, manifests, signal);
      const counts = new Map<string, number>();
      for (const m of manifests) counts.set(m.kind, (counts.get(m.kind) ?? 0) + 1);
      s.retitle(`samples applied: ${manifests.length} objects of config/samples and config/demo`);
      s.note([...counts].map(([kind, n]) => `${n} ${kind}`).join(", "));
      s.note(`ApiKey ${DEMO_API_KEY} uses RotationPolicy demo (prePublish 3s), so its rotation takes seconds`);
    },
  };
}

function verifierStep(ctx: SetupContext): SetupStep {
  const { world, supervisor, options, signal, dir } = ctx;
  const ns = options.namespace;
  return {
    title: "keyward verifier",
    run: async (s) => {
      const kubeconfig = join(dir, "verifier.kubeconfig");
      await writeVerifierKubeconfig(world.client!, ns, join(REPO_ROOT, "config", "verifier"), kubeconfig, signal);
      const [listen, admin] = (await freePorts(2)) as [number, number];
      world.verifierUrl = `http://127.0.0.1:${listen}`;
      world.verifierAdminUrl = `http://127.0.0.1:${admin}`;
      const child = supervisor.start("verifier", [
        "verifier",
        "--mode",
        "proxy",
        "--listen",
        `127.0.0.1:${listen}`,
        "--upstream",
        world.upstream!.url,
        "--tenant",
        ns,
        "--bundle-configmap",
        `${ns}/keyward-bundle`,
        "--bundle-trust-configmap",
        `${world.systemNamespace!}/keyward-bundle-trust`,
        "--kubeconfig",
        kubeconfig,
        "--metrics-listen",
        `127.0.0.1:${admin}`,
      ]);
      world.verifierLog = child.logPath;
      const probe = new HttpProbe(world.verifierAdminUrl);
      try {
        await supervisor.waitHealthy(child, probe, "/healthz", { timeoutMs: options.timeoutMs, signal });
      } finally {
        probe.close();
      }
      s.retitle(`keyward verifier at ${world.verifierUrl} in front of the upstream (pid ${child.pid}; --mode proxy --bundle-configmap ${ns}/keyward-bundle)`);
      s.note(`reads the bundle as ServiceAccount ${ns}/default with config/verifier's Role: that one ConfigMap, nothing else`);
      s.note(`checks its signature against the keys in ConfigMap ${world.systemNamespace!}/keyward-bundle-trust (config/trust lets it read that one)`);
      s.note(`log ${child.logPath}; metrics ${world.verifierAdminUrl}/metrics`);
    },
  };
}

function readyStep(ctx: SetupContext): SetupStep {
  const { world, options, signal } = ctx;
  const ns = options.namespace;
  return {
    title: "ApiKeys and AccessTokens Ready",
    run: async (s) => {
      const client = world.client!;
      const { keys, tokens } = await waitUntil(
        "every ApiKey and AccessToken Ready",
        async () => {
          const keys = (await client.list<ApiKey>(Resources.apiKeys, { namespace: ns, signal })).items;
          const tokens = (await client.list<AccessToken>(Resources.accessTokens, { namespace: ns, signal })).items;
          if (keys.length === 0) return { done: false, state: "no ApiKeys listed" };
          const byName = new Map(keys.map((k) => [k.metadata.name, k]));
          const waiting = [...keys.map(apiKeyNotReady), ...tokens.map((tok) => accessTokenNotReady(tok, byName.get(tok.spec.apiKeyName)))].filter(
            (x): x is string => x !== null,
          );
          return waiting.length === 0 ? { done: true, value: { keys, tokens } } : { done: false, state: waiting.join("; ") };
        },
        { timeoutMs: options.timeoutMs, intervalMs: 100, signal, hint: `see the controller's log ${world.controllerLog ?? ""}` },
      );
      s.retitle(`${keys.length} ApiKeys and ${tokens.length} AccessTokens Ready; the verifier has the bundle`);
      s.note(`active keys: ${keys.map((k) => `${k.metadata.name ?? ""} ${shortKid(k.status?.activeKid ?? "")}`).join(", ")}`);
      const generation = Math.max(...keys.map((k) => k.status?.bundleGeneration ?? 0));
      const admin = new HttpProbe(world.verifierAdminUrl!);
      try {
        const body = await waitUntil(
          `the verifier loading bundle generation ${generation}`,
          async () => {
            const r = await admin.send({ path: "/readyz" }, signal);
            const have = Number(/generation (\d+)/.exec(r.body)?.[1] ?? "NaN");
            return r.status === 200 && have >= generation ? { done: true, value: r.body.trim() } : { done: false, state: `${r.status} ${r.body.trim()}` };
          },
          { timeoutMs: options.timeoutMs, intervalMs: 50, signal, hint: `see the verifier's log ${world.verifierLog ?? ""}` },
        );
        s.note(`verifier /readyz: ${body}`);
      } finally {
        admin.close();
      }
    },
  };
}

/** The setup steps, in order. */
export function setupSteps(ctx: SetupContext): SetupStep[] {
  const cluster = ctx.options.cluster;
  return [
    ...(cluster.kind === "local" ? localCluster(ctx) : existingCluster(ctx, cluster.kubeconfig, cluster.source)),
    upstreamStep(ctx),
    controllerStep(ctx),
    samplesStep(ctx),
    verifierStep(ctx),
    readyStep(ctx),
  ];
}

/** A launcher for the kubectl-keyward plugin from the source tree, so the printed commands work without a build. */
function writePluginShim(dir: string): string {
  const bin = join(dir, "bin");
  const main = join(REPO_ROOT, "src", "plugin", "main.ts");
  const run = "const m = await import(process.argv[1]); process.exitCode = await m.main(process.argv.slice(2));";
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "kubectl-keyward"), `#!/bin/sh\n# kubectl keyward, run from the source tree\nexec '${process.execPath}' --input-type=module -e '${run}' '${main}' "$@"\n`, { mode: 0o755 });
  return bin;
}

/** With --keep: how to talk to what runs. Tokens are fetched by the commands, never printed. */
export function keepInstructions(ctx: SetupContext): string[] {
  const { world, options, dir } = ctx;
  const ns = options.namespace;
  const shim = writePluginShim(dir);
  const url = world.verifierUrl ?? "";
  const lines = [
    "Everything keeps running until Ctrl-C. In another terminal:",
    "",
    `  export KUBECONFIG=${world.kubeconfigPath ?? ""}`,
    `  export PATH=${shim}:$PATH   # kubectl-keyward from this source tree (also as: kubectl keyward)`,
    `  kubectl-keyward status -n ${ns}`,
    `  TOKEN=$(kubectl-keyward token ${DEMO_TOKEN} -n ${ns})`,
  ];
  if (url !== "") {
    lines.push(
      `  curl -i -H "Authorization: Bearer $TOKEN" ${url}${ALLOWED_PATH}             # 200`,
      `  curl -i -H "Authorization: Bearer $TOKEN" -X DELETE ${url}${ALLOWED_PATH}   # 403`,
      `  curl -i ${url}${ALLOWED_PATH}                                              # 401`,
    );
  }
  lines.push(
    `  kubectl-keyward rotate ${DEMO_API_KEY} -n ${ns}`,
    `  kubectl-keyward revoke ${DEMO_API_KEY} --all -n ${ns}`,
    "",
    `  logs: ${[world.controllerLog, world.verifierLog].filter((x) => x !== undefined).join(", ")}`,
  );
  return lines;
}

/**
 * Stops and removes everything, in order: on an existing cluster the namespace (while the
 * controller still runs, as it releases the AccessTokens' revocation finalizers) and the
 * cluster-scoped objects the demo created; then the verifier, the controller, the upstream,
 * the control plane and the demo's directory. Tries every part; throws at the end, listing
 * what failed.
 */
export async function tearDown(ctx: SetupContext, s: StepContext): Promise<void> {
  const { world, supervisor, dir, options } = ctx;
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      problems.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const client = world.client;
  if (world.existing && client !== undefined) {
    const name = world.createdNamespace;
    if (name !== undefined) {
      // AccessTokens and ApiKeys first, while the namespace still takes writes: their
      // finalizers wait for the controller to record them in the bundle ConfigMap, which it
      // cannot (re)write once the namespace is terminating.
      await attempt(`deleting the AccessTokens and ApiKeys of namespace ${name}`, async () => {
        for (const resource of [Resources.accessTokens, Resources.apiKeys]) {
          for (const o of (await client.list(resource, { namespace: name })).items) {
            await client.delete(resource, { name: o.metadata?.name ?? "", namespace: name }, { ignoreNotFound: true });
          }
          await waitUntil(
            `every ${resource.kind} of namespace ${name} deleted`,
            async () => {
              const left = (await client.list(resource, { namespace: name })).items;
              if (left.length === 0) return { done: true, value: undefined };
              return { done: false, state: left.map((o) => `${o.metadata?.name ?? ""} (finalizers: ${(o.metadata?.finalizers ?? []).join(", ")})`).join("; ") };
            },
            { timeoutMs: options.timeoutMs, intervalMs: 100, hint: `see the controller's log ${world.controllerLog ?? ""}` },
          );
        }
        s.note(`AccessTokens and ApiKeys of namespace ${name} deleted (the controller released its finalizers)`);
      });
      await attempt(`deleting namespace ${name}`, async () => {
        await client.delete(Resources.namespaces, { name }, { ignoreNotFound: true });
        await waitUntil(
          `namespace ${name} deleted`,
          async () => {
            const found = await client.find<KubeObject & { status?: { phase?: string } }>(Resources.namespaces, { name });
            return found === undefined ? { done: true, value: undefined } : { done: false, state: `phase ${found.status?.phase ?? "unknown"}` };
          },
          { timeoutMs: options.timeoutMs, intervalMs: 200 },
        );
        s.note(`namespace ${name} deleted`);
      });
    }
    const system = world.systemNamespace;
    if (system !== undefined) {
      // Its signing-key Secrets went with the ApiKeys above.
      await attempt(`deleting namespace ${system}`, async () => {
        await client.delete(Resources.namespaces, { name: system }, { ignoreNotFound: true });
        s.note(`namespace ${system} deleted`);
      });
    }
    for (const m of world.createdClusterObjects) {
      await attempt(`deleting ${m.kind} ${m.metadata.name}`, async () => {
        await client.delete(Resources.clusterRotationPolicies, { name: m.metadata.name }, { ignoreNotFound: true });
        s.note(`${m.kind} ${m.metadata.name} deleted`);
      });
    }
  }
  await attempt("stopping the controller and the verifier", () => supervisor.stopAll());
  await attempt("stopping the upstream", async () => world.upstream?.close());
  const cp = world.controlPlane;
  if (cp !== undefined) await attempt("stopping the control plane", () => cp.stop());
  const stopped = [...supervisor.children.map((c) => c.name).reverse(), ...(world.upstream === undefined ? [] : ["upstream"]), ...(cp === undefined ? [] : ["control plane"])];
  const running = supervisor.children.filter((c) => !c.hasExited()).map((c) => c.name);
  if (running.length > 0) problems.push(`still running: ${running.join(", ")}`);
  if (stopped.length > 0) s.note(`stopped: ${stopped.join(", ")}`);
  rmSync(dir, { recursive: true, force: true });
  s.note(`removed ${dir}`);
  if (problems.length > 0) throw new Error(problems.join("\n"));
}
