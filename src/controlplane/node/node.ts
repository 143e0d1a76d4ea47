// A single-node cluster that really runs Pods: the local control plane (in its
// in-cluster mode), kube-scheduler, and a node made of containerd, runc, the CNI
// bridge, the kubelet and kube-proxy inside a network namespace of its own
// (network.ts). Images come from local OCI archives; nothing is ever pulled.
//
// containerd and the kubelet are supervised as systemd would on a real node: when one
// dies it is started again after a second, so a test can kill them to prove that a
// node-level restart loses nothing.
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readMemory, startControlPlane } from "../controlplane.ts";
import type { ControlPlane, ProcessMemory } from "../controlplane.ts";
import { StartupError, waitUntilHealthy } from "../health.ts";
import { renderKubeconfig } from "../kubeconfig.ts";
import { kubeJson, loadKubeConfig } from "../kubeclient.ts";
import { issueCertificate } from "../../lib/pki.ts";
import { freePorts } from "../ports.ts";
import { isAlive, startProcess } from "../process.ts";
import type { ManagedProcess } from "../process.ts";
import { startReaper } from "../reaper.ts";
import { containerdConfig, cniConfig, kubeletConfig, kubeProxyConfig, NODE_NAME } from "./configs.ts";
import type { NodeDirs } from "./configs.ts";
import { FIXED_PATHS, listTree, pidsRunning, snapshotSysctls } from "./host.ts";
import { createNetwork, NODE_NETWORK, networkExists } from "./network.ts";
import type { NodeNetwork } from "./network.ts";
import { run } from "./run.ts";
import { readState, STATE_FILE, writeState } from "./state.ts";
import type { NodeState } from "./state.ts";
import { killNodeProcesses, teardownNode } from "./teardown.ts";

/** The executables a node runs besides the control plane's (hack/test-binaries.sh --node builds them). */
export const NODE_BINARIES = ["kubelet", "kube-scheduler", "kube-proxy", "kubectl", "containerd", "containerd-shim-runc-v2", "ctr"] as const;

/** Where the OS packages put runc and the CNI plugins (Debian and Ubuntu first). */
const RUNC_PATHS = ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"];
const CNI_DIRS = ["/usr/lib/cni", "/opt/cni/bin"];

export interface StartNodeOptions {
  /** etcd, kube-apiserver, kube-controller-manager. */
  controlPlaneAssetsDir: string;
  /** NODE_BINARIES. */
  nodeAssetsDir: string;
  /** OCI archive of the sandbox image (PAUSE_IMAGE). */
  pauseImage: string;
  /** Further OCI archives to load into the node (the keyward image). */
  images?: readonly string[];
  crdDir?: string;
  log?: (line: string) => void;
  /** Parent of the node's fresh directory (default: the OS temp dir). */
  workDir?: string;
  /** Deadline for each component, and for the node to be Ready (default 90 s). */
  readyTimeoutMs?: number;
}

export interface LocalNode {
  readonly controlPlane: ControlPlane;
  /** Admin kubeconfig and API server URL (reachable from this machine and from Pods). */
  readonly kubeconfigPath: string;
  readonly server: string;
  readonly network: NodeNetwork;
  readonly dir: string;
  /** The file that names the node's current pids (for tests that kill containerd or the kubelet). */
  readonly statePath: string;
  readonly startupMs: number;
  /** kubectl built with the node, with the admin kubeconfig. */
  kubectl(args: readonly string[], input?: string): string;
  /** Loads one more OCI archive into the node's containerd. */
  loadImage(archive: string): void;
  /** Resident memory of the node's processes (kubelet, containerd, kube-proxy, kube-scheduler, shims). */
  memory(): ProcessMemory[];
  /** Stops everything and restores every machine setting the node changed. Idempotent. */
  stop(): Promise<void>;
}

function findExecutable(candidates: readonly string[], what: string, fix: string): string {
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  throw new StartupError(`${what} not found (looked in ${candidates.join(", ")}): ${fix}`);
}

/** Checks everything a node needs before changing anything, and names the fix for what is missing. */
export function checkNodePrerequisites(nodeAssetsDir: string): { runc: string; cniBinDir: string } {
  if (process.platform !== "linux") throw new StartupError("a local node runs on Linux only");
  if (process.getuid?.() !== 0) throw new StartupError("a local node must run as root (it starts containerd and the kubelet, and creates a network namespace)");
  for (const bin of NODE_BINARIES) findExecutable([join(nodeAssetsDir, bin)], bin, "run hack/test-binaries.sh --node");
  for (const tool of ["ip", "nsenter", "nft", "umount"]) {
    findExecutable(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map((d) => join(d, tool)), tool, "install iproute2, util-linux and nftables");
  }
  const runc = findExecutable(RUNC_PATHS, "runc", "install the runc package");
  const cniBinDir = CNI_DIRS.find((d) => existsSync(join(d, "bridge")) && existsSync(join(d, "host-local")));
  if (cniBinDir === undefined) throw new StartupError(`the CNI plugins bridge and host-local were not found in ${CNI_DIRS.join(" or ")}: install containernetworking-plugins`);
  return { runc, cniBinDir };
}

/** Undoes a node left behind by a run that was killed; true if there was one. */
export async function removeLeftoverNode(log: (line: string) => void, net: NodeNetwork = NODE_NETWORK): Promise<boolean> {
  const state = readState();
  if (state === undefined && !networkExists(net)) return false;
  const alive = state === undefined ? [] : [state.ownerPid, ...Object.values(state.pids), ...(state.controlPlanePids ?? [])].filter(isAlive);
  if (alive.length > 0) {
    throw new StartupError(`a keyward node is already running on this machine (pids ${alive.join(" ")}, ${STATE_FILE}); one node at a time: stop it first (Ctrl-C its cluster:up or e2e)`);
  }
  log("a node from an earlier run was left behind: removing it first");
  if (state !== undefined) {
    const report = await teardownNode(state, net);
    if (report.restoredSysctls.length > 0) log(`restored ${report.restoredSysctls.join(", ")}`);
    if (report.leftovers.length > 0) throw new StartupError(`could not remove the earlier node completely: ${report.leftovers.join("; ")}`);
  } else {
    run("ip", ["netns", "del", net.netns]);
  }
  return true;
}

const TEARDOWN_MAIN = fileURLToPath(new URL(`./teardown-main${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url));

export async function startNode(opts: StartNodeOptions): Promise<LocalNode> {
  const started = Date.now();
  const log = opts.log ?? (() => undefined);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const net = NODE_NETWORK;
  const { runc, cniBinDir } = checkNodePrerequisites(opts.nodeAssetsDir);
  const bin = (name: (typeof NODE_BINARIES)[number]): string => join(opts.nodeAssetsDir, name);
  await removeLeftoverNode(log, net);

  const parent = opts.workDir ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, "keyward-node-"));
  const path = (...parts: string[]): string => join(dir, ...parts);
  const state: NodeState = {
    ownerPid: process.pid,
    nodeDir: dir,
    sysctls: snapshotSysctls(),
    shimExe: realpathSync(bin("containerd-shim-runc-v2")),
    pids: {},
    fixedPathsBefore: Object.fromEntries(FIXED_PATHS.map((p) => [p, listTree(p)])),
  };
  writeState(state);
  // If this process dies without stop(), the reaper runs the same teardown.
  const reaper = startReaper({ onDeath: [process.execPath, TEARDOWN_MAIN, STATE_FILE] });

  const processes = new Map<string, ManagedProcess>();
  let stopping = false;
  let cp: ControlPlane | undefined;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      // The node's own processes get a graceful stop; then the containers go, and only
      // then the control plane (Pods' watches would hold its shutdown open).
      await Promise.all([...processes.values()].map((p) => p.stop(5000)));
      await killNodeProcesses(state, { keepControlPlane: true });
      if (cp !== undefined) await cp.stop();
      const report = await teardownNode(state, net);
      await reaper.release();
      log(`node stopped${report.restoredSysctls.length > 0 ? `; restored ${report.restoredSysctls.join(", ")}` : ""}`);
      if (report.leftovers.length > 0) throw new Error(`the node's teardown left things behind: ${report.leftovers.join("; ")}`);
    })();
    return stopped;
  };

  const record = (name: string, proc: ManagedProcess): void => {
    processes.set(name, proc);
    state.pids[name] = proc.pid;
    reaper.watch(proc.pid);
    writeState(state);
  };

  /** Starts a process and, if `supervised`, starts it again a second after it dies. */
  const launch = (name: string, command: string, args: string[], opts2: { netns?: boolean; supervised?: boolean; env?: NodeJS.ProcessEnv } = {}): ManagedProcess => {
    const proc = startProcess({
      name,
      command,
      args,
      logPath: path(`${name}.log`),
      cwd: dir,
      env: opts2.env,
      netnsPath: opts2.netns === true ? net.netnsPath : undefined,
    });
    record(name, proc);
    if (opts2.supervised === true) {
      void proc.exited.then((exit) => {
        if (stopping) return;
        log(`${name} exited (code ${exit.code ?? "none"}, signal ${exit.signal ?? "none"}); starting it again in 1 s`);
        setTimeout(() => {
          if (!stopping) launch(name, command, args, opts2);
        }, 1000);
      });
    }
    return proc;
  };

  try {
    log(`creating the node's network namespace ${net.netns} (${net.nodeAddress}, Pods ${net.podCidr})`);
    createNetwork(net);

    cp = await startControlPlane({
      assetsDir: opts.controlPlaneAssetsDir,
      crdDir: opts.crdDir,
      log,
      readyTimeoutMs,
      inCluster: { address: net.hostAddress },
    });
    state.controlPlaneDir = cp.dir;
    state.controlPlanePids = Object.values(cp.pids);
    writeState(state);
    const ca = cp.ca;
    const caPem = ca.certPem;

    // --- identities: each component as the API server's default RBAC expects it ---
    const kubeconfigFor = (file: string, commonName: string, organizations: string[] = []): string => {
      const cert = issueCertificate(ca, { subject: { commonName, organizations }, usage: "client" });
      writeFileSync(path(file), renderKubeconfig({ server: cp!.server, caPem, certPem: cert.certPem, keyPem: cert.keyPem, name: commonName }), { mode: 0o600 });
      return path(file);
    };
    const kubeletKubeconfig = kubeconfigFor("kubelet.kubeconfig", `system:node:${NODE_NAME}`, ["system:nodes"]);
    const proxyKubeconfig = kubeconfigFor("kube-proxy.kubeconfig", "system:kube-proxy");
    const schedulerKubeconfig = kubeconfigFor("kube-scheduler.kubeconfig", "system:kube-scheduler");
    const kubeletServing = issueCertificate(ca, { subject: { commonName: NODE_NAME }, hosts: [net.nodeAddress, NODE_NAME], usage: "server" });
    writeFileSync(path("ca.crt"), caPem);
    writeFileSync(path("kubelet.crt"), kubeletServing.certPem);
    writeFileSync(path("kubelet.key"), kubeletServing.keyPem, { mode: 0o600 });

    const dirs: NodeDirs = {
      containerdRoot: path("containerd", "root"),
      containerdState: path("containerd", "state"),
      containerdSocket: path("containerd", "containerd.sock"),
      cniConfDir: path("cni", "net.d"),
      cniBinDir,
      cniDataDir: path("cni", "ipam"),
      kubeletRoot: path("kubelet"),
      podLogs: path("pod-logs"),
      resolvConf: path("resolv.conf"),
    };
    for (const d of [dirs.containerdRoot, dirs.containerdState, dirs.cniConfDir, dirs.cniDataDir, dirs.kubeletRoot, dirs.podLogs]) mkdirSync(d, { recursive: true });
    writeFileSync(dirs.resolvConf, "# keyward local node: no name server; Pods resolve nothing.\n");
    writeFileSync(path("containerd.toml"), containerdConfig(dirs, runc));
    writeFileSync(join(dirs.cniConfDir, "10-keyward.conflist"), cniConfig(net, dirs));
    writeFileSync(path("kubelet.json"), kubeletConfig(net, dirs, { caCert: path("ca.crt"), servingCert: path("kubelet.crt"), servingKey: path("kubelet.key") }));
    writeFileSync(path("kube-proxy.json"), kubeProxyConfig(net, proxyKubeconfig));

    // --- kube-scheduler (on the machine's side, like the rest of the control plane) ---
    const [schedulerPort] = (await freePorts(1)) as [number];
    log("starting kube-scheduler");
    const scheduler = launch("kube-scheduler", bin("kube-scheduler"), [
      `--kubeconfig=${schedulerKubeconfig}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${schedulerPort}`,
      "--v=1",
    ]);

    // --- containerd ------------------------------------------------------------
    // The shim is found on PATH; runc is named in the config.
    const env = { ...process.env, PATH: `${opts.nodeAssetsDir}:/usr/sbin:/usr/bin:/sbin:/bin` };
    log("starting containerd");
    const containerd = launch("containerd", bin("containerd"), [`--config=${path("containerd.toml")}`], { netns: true, supervised: true, env });
    const ctr = (args: readonly string[]): string => run(bin("ctr"), [`--address=${dirs.containerdSocket}`, "--namespace=k8s.io", ...args], { timeoutMs: 120_000 });
    await waitFor("containerd to answer", readyTimeoutMs, [containerd], () => {
      ctr(["version"]);
      return true;
    });
    for (const archive of [opts.pauseImage, ...(opts.images ?? [])]) {
      log(`loading ${archive}`);
      ctr(["images", "import", "--no-unpack=false", archive]);
    }

    // --- kubelet -------------------------------------------------------------
    log("starting the kubelet");
    const kubelet = launch(
      "kubelet",
      bin("kubelet"),
      [
        `--config=${path("kubelet.json")}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${dirs.kubeletRoot}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${net.nodeAddress}`,
        "--v=1",
      ],
      { netns: true, supervised: true, env },
    );
    await waitUntilHealthy({ url: `http://${net.nodeAddress}:10248/healthz`, timeoutMs: readyTimeoutMs, watch: [kubelet, containerd, scheduler] });

    // --- kube-proxy ------------------------------------------------------------
    log("starting kube-proxy (nftables)");
    const proxy = launch("kube-proxy", bin("kube-proxy"), [`--config=${path("kube-proxy.json")}`, "--v=1"], { netns: true, env });

    const kc = loadKubeConfig(cp.kubeconfigPath);
    await waitFor(`node ${NODE_NAME} to be Ready`, readyTimeoutMs, [kubelet, containerd, proxy, scheduler], async () => {
      const node = await kubeJson<{ status?: { conditions?: { type: string; status: string }[] } }>(kc, { method: "GET", path: `/api/v1/nodes/${NODE_NAME}` });
      return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;
    });
    await waitUntilHealthy({ url: `http://${net.nodeAddress}:10256/healthz`, timeoutMs: readyTimeoutMs, watch: [proxy] });

    const startupMs = Date.now() - started;
    log(`node ${NODE_NAME} Ready in ${startupMs} ms (${dir})`);
    const controlPlane = cp;
    return {
      controlPlane,
      kubeconfigPath: controlPlane.kubeconfigPath,
      server: controlPlane.server,
      network: net,
      dir,
      statePath: STATE_FILE,
      startupMs,
      kubectl: (args, input) => run(bin("kubectl"), [`--kubeconfig=${controlPlane.kubeconfigPath}`, ...args], { input, timeoutMs: 300_000 }),
      loadImage: (archive) => {
        ctr(["images", "import", archive]);
      },
      memory: () => nodeMemory(state),
      stop,
    };
  } catch (error) {
    const tails = [...processes.values()].map((p) => `--- ${p.name} (${p.logPath}) ---\n${p.tail(30)}`).join("\n");
    await stop().catch((stopError: unknown) => {
      log((stopError as Error).message);
    });
    if (error instanceof StartupError) throw error;
    throw new StartupError(`the node failed to start: ${(error as Error).message}${tails === "" ? "" : `\n${tails}`}`, { cause: error });
  }
}

/** Polls `probe` until it returns true; fails early when a watched process exits. */
async function waitFor(what: string, timeoutMs: number, watch: readonly ManagedProcess[], probe: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const dead = watch.find((p) => p.hasExited());
    if (dead !== undefined) throw new StartupError(`${dead.name} exited while waiting for ${what}\n--- ${dead.logPath} (tail) ---\n${dead.tail()}`);
    try {
      if (await probe()) return;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      const tails = watch.map((p) => `--- ${p.logPath} (tail) ---\n${p.tail()}`).join("\n");
      throw new StartupError(`timed out after ${timeoutMs} ms waiting for ${what}${last === "" ? "" : `; last error: ${last}`}\n${tails}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function nodeMemory(state: NodeState): ProcessMemory[] {
  const own = Object.entries(state.pids).flatMap(([name, pid]) => readMemory(name, pid) ?? []);
  const shims = pidsRunning(state.shimExe).flatMap((pid) => readMemory("containerd-shim-runc-v2", pid) ?? []);
  return [...own, ...shims];
}
