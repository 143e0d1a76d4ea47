import { mkdtempSync, rmSync, writeFileSync, readFileSync, mkdirSync } from "node:fs";
import { checkAssetsDir, REQUIRED_BINARIES } from "./binaries.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { track, untrack } from "./cleanup.ts";
import { installCrds } from "./crds.ts";
import { StartupError, waitUntilHealthy } from "./health.ts";
import { renderKubeconfig } from "./kubeconfig.ts";
import { createCertificateAuthority, createServiceAccountKey, issueCertificate } from "../lib/pki.ts";
import type { CertificateAuthority } from "../lib/pki.ts";
import { freePorts } from "./ports.ts";
import { killNow, startProcess } from "./process.ts";
import type { ManagedProcess } from "./process.ts";
import { startReaper } from "./reaper.ts";

export interface StartControlPlaneOptions {
  /** Directory holding the etcd, kube-apiserver and kube-controller-manager executables. */
  assetsDir: string;
  /** Parent of the fresh temporary directory the control plane lives in (default: the OS temp dir). */
  workDir?: string;
  /** Progress lines (never secrets). */
  log?: (line: string) => void;
  /** Deadline for each component to become ready (default 90 s). */
  readyTimeoutMs?: number;
  /** Deadline for each process to exit after SIGTERM before SIGKILL (default 15 s). */
  stopGraceMs?: number;
  /** Keep the work directory (logs, certificates, etcd data) after stop(), for debugging. */
  keepWorkDir?: boolean;
  /**
   * Install the CustomResourceDefinitions of this directory before the controller
   * manager starts, so that its garbage collector watches them from the start
   * (it notices CRDs added later only at its next 30 s discovery resync).
   */
  crdDir?: string;
  /** Extra kube-apiserver flags (`--name=value`), appended after the defaults. */
  apiServerFlags?: readonly string[];
  /**
   * Serve in-cluster clients too (a node runs Pods against this control plane): the API
   * server binds `address` (an address of this machine that the node's Pods can route to)
   * and publishes it as the `kubernetes` Service's endpoint (lease reconciler), its serving
   * certificate also names the Service's ClusterIP and DNS names, ServiceAccount admission
   * gives Pods their tokens, the Node authorizer runs beside RBAC, and the API server dials
   * kubelets only at their InternalIP with a client certificate of its own.
   */
  inCluster?: InClusterOptions;
}

export interface InClusterOptions {
  /** The address the API server binds and advertises (not loopback). */
  address: string;
  /** The Service CIDR's first address, the `kubernetes` Service's ClusterIP (default 10.0.0.1). */
  serviceIp?: string;
}

/** The Service CIDR of every local control plane; its first address is the `kubernetes` Service. */
export const SERVICE_CIDR = "10.0.0.0/24";

export interface ProcessMemory {
  name: string;
  pid: number;
  /** Current resident set size (VmRSS), KiB. */
  rssKiB: number;
  /** Peak resident set size (VmHWM), KiB. */
  peakRssKiB: number;
}

export interface ControlPlane {
  /** An admin kubeconfig (user `keyward-admin`, group system:masters). */
  readonly kubeconfigPath: string;
  /** The API server URL, https://127.0.0.1:<port>. */
  readonly server: string;
  /** The fresh directory holding certificates, kubeconfig, etcd data and logs. */
  readonly dir: string;
  readonly caCertPath: string;
  readonly pids: { readonly etcd: number; readonly apiServer: number; readonly controllerManager: number };
  readonly logs: { readonly etcd: string; readonly apiServer: string; readonly controllerManager: string };
  /** Milliseconds from the call to startControlPlane until every component was ready. */
  readonly startupMs: number;
  /** The CA that signed every certificate of this control plane (to issue more: kubelets, users). */
  readonly ca: CertificateAuthority;
  /** Memory of the three processes from /proc (Linux only; empty elsewhere). */
  memory(): ProcessMemory[];
  /** Stops every process (SIGTERM, then SIGKILL after the grace period) and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

export function readMemory(name: string, pid: number): ProcessMemory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { name, pid, rssKiB: field("VmRSS"), peakRssKiB: field("VmHWM") };
  } catch {
    return undefined;
  }
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports
 * and resolves once all three are healthy. The ports are free when chosen but
 * another process may take one before our process binds it: a start that fails
 * with "address already in use" is retried, up to three times in all.
 */
export async function startControlPlane(opts: StartControlPlaneOptions): Promise<ControlPlane> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, started);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof StartupError) || !/address already in use/.test(error.message)) throw error;
      opts.log?.(`a port was taken by another process during startup; starting again (attempt ${attempt + 1} of 3)`);
    }
  }
}

async function startOnce(opts: StartControlPlaneOptions, started: number): Promise<ControlPlane> {
  const log = opts.log ?? (() => undefined);
  const readyTimeoutMs = opts.readyTimeoutMs ?? 90_000;
  const stopGraceMs = opts.stopGraceMs ?? 15_000;
  checkAssetsDir(opts.assetsDir, "startControlPlane assetsDir");
  const bin = (name: (typeof REQUIRED_BINARIES)[number]): string => join(opts.assetsDir, name);

  const parent = opts.workDir ?? tmpdir();
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, "keyward-controlplane-"));
  const path = (name: string): string => join(dir, name);
  const reaper = startReaper(opts.keepWorkDir === true ? {} : { removeDir: dir });
  const processes: ManagedProcess[] = [];

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const [etcd, ...others] = processes;
      // The API server and the controller manager first, etcd (their storage) last.
      await Promise.all(others.map((p) => p.stop(stopGraceMs)));
      if (etcd) await etcd.stop(stopGraceMs);
      await reaper.release();
      if (opts.keepWorkDir !== true) rmSync(dir, { recursive: true, force: true });
      untrack(tracked);
      log(`control plane stopped${opts.keepWorkDir === true ? `; files kept in ${dir}` : ""}`);
    })();
    return stopping;
  };
  const tracked = {
    stop,
    killNow(): void {
      for (const p of processes) killNow(p);
      if (opts.keepWorkDir !== true) rmSync(dir, { recursive: true, force: true });
    },
  };
  track(tracked);

  const launch = (name: string, command: string, args: string[]): ManagedProcess => {
    const proc = startProcess({ name, command, args, logPath: path(`${name}.log`), cwd: dir });
    processes.push(proc);
    reaper.watch(proc.pid);
    return proc;
  };

  try {
    // --- certificates and keys ----------------------------------------------
    const ca = createCertificateAuthority({ commonName: "keyward-controlplane-ca" });
    const inCluster = opts.inCluster;
    const serviceIp = inCluster?.serviceIp ?? "10.0.0.1";
    const serving = issueCertificate(ca, {
      subject: { commonName: "kube-apiserver" },
      hosts: [
        "127.0.0.1",
        "localhost",
        ...(inCluster === undefined
          ? []
          : [inCluster.address, serviceIp, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]),
      ],
      usage: "server",
    });
    const admin = issueCertificate(ca, {
      subject: { commonName: "keyward-admin", organizations: ["system:masters"] },
      usage: "client",
    });
    const sa = createServiceAccountKey();
    const files = {
      caCert: path("ca.crt"),
      caKey: path("ca.key"),
      servingCert: path("serving.crt"),
      servingKey: path("serving.key"),
      saKey: path("service-account.key"),
      saPub: path("service-account.pub"),
      kubeconfig: path("admin.kubeconfig"),
    };
    writeFileSync(files.caCert, ca.certPem);
    writeFileSync(files.caKey, ca.keyPem, { mode: 0o600 });
    writeFileSync(files.servingCert, serving.certPem);
    writeFileSync(files.servingKey, serving.keyPem, { mode: 0o600 });
    writeFileSync(files.saKey, sa.privateKeyPem, { mode: 0o600 });
    writeFileSync(files.saPub, sa.publicKeyPem);
    let kubeletClientFlags: string[] = [];
    if (inCluster !== undefined) {
      // The API server's identity towards kubelets (logs, exec, port-forward).
      const kubeletClient = issueCertificate(ca, {
        subject: { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"] },
        usage: "client",
      });
      writeFileSync(path("kubelet-client.crt"), kubeletClient.certPem);
      writeFileSync(path("kubelet-client.key"), kubeletClient.keyPem, { mode: 0o600 });
      kubeletClientFlags = [`--kubelet-client-certificate=${path("kubelet-client.crt")}`, `--kubelet-client-key=${path("kubelet-client.key")}`];
    }

    const [etcdClientPort, etcdPeerPort, apiServerPort, controllerManagerPort] = (await freePorts(4)) as [number, number, number, number];
    const apiServerAddress = inCluster?.address ?? "127.0.0.1";
    const server = `https://${apiServerAddress}:${apiServerPort}`;
    const adminTls = { caPem: ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem };

    // --- etcd ---------------------------------------------------------------
    const etcdClientUrl = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    log(`starting etcd on ${etcdClientUrl}`);
    const etcd = launch("etcd", bin("etcd"), [
      "--name=keyward",
      `--data-dir=${path("etcd-data")}`,
      `--listen-client-urls=${etcdClientUrl}`,
      `--advertise-client-urls=${etcdClientUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=keyward=${etcdPeerUrl}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await waitUntilHealthy({ url: `${etcdClientUrl}/health`, timeoutMs: readyTimeoutMs, watch: [etcd] });

    // --- kube-apiserver -----------------------------------------------------
    log(`starting kube-apiserver on ${server}`);
    const modeFlags =
      inCluster === undefined
        ? [
            "--advertise-address=127.0.0.1",
            // A loopback advertise address cannot be published in the kubernetes
            // Service's endpoints, and nothing in this cluster needs them.
            "--endpoint-reconciler-type=none",
            "--authorization-mode=RBAC",
            // No kubelet runs: pods are never scheduled, so nothing needs the
            // ServiceAccount admission plugin's token volumes.
            "--disable-admission-plugins=ServiceAccount",
          ]
        : [
            `--advertise-address=${inCluster.address}`,
            "--endpoint-reconciler-type=lease",
            "--authorization-mode=Node,RBAC",
            // Never a DNS lookup for a node's name: dial the address it reports.
            "--kubelet-preferred-address-types=InternalIP",
            ...kubeletClientFlags,
          ];
    const apiServer = launch("kube-apiserver", bin("kube-apiserver"), [
      ...modeFlags,
      `--bind-address=${apiServerAddress}`,
      `--secure-port=${apiServerPort}`,
      `--etcd-servers=${etcdClientUrl}`,
      `--cert-dir=${path("apiserver-certs")}`,
      `--tls-cert-file=${files.servingCert}`,
      `--tls-private-key-file=${files.servingKey}`,
      `--client-ca-file=${files.caCert}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${files.saPub}`,
      `--service-account-signing-key-file=${files.saKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      "--allow-privileged=true",
      "--v=1",
      ...(opts.apiServerFlags ?? []),
    ]);
    await waitUntilHealthy({ url: `${server}/readyz`, tls: adminTls, timeoutMs: readyTimeoutMs, watch: [etcd, apiServer] });

    writeFileSync(
      files.kubeconfig,
      renderKubeconfig({ server, caPem: ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem, name: "keyward-admin" }),
      { mode: 0o600 },
    );

    if (opts.crdDir !== undefined) {
      await installCrds(files.kubeconfig, opts.crdDir, { log, timeoutMs: readyTimeoutMs });
    }

    // --- kube-controller-manager ---------------------------------------------
    log("starting kube-controller-manager");
    const controllerManager = launch("kube-controller-manager", bin("kube-controller-manager"), [
      `--kubeconfig=${files.kubeconfig}`,
      // No --authentication/authorization-kubeconfig: its own endpoints then
      // serve only the always-allowed paths (/healthz, /readyz, /livez).
      "--bind-address=127.0.0.1",
      `--secure-port=${controllerManagerPort}`,
      `--tls-cert-file=${files.servingCert}`,
      `--tls-private-key-file=${files.servingKey}`,
      "--controllers=*",
      "--leader-elect=false",
      "--use-service-account-credentials=false",
      `--service-account-private-key-file=${files.saKey}`,
      `--root-ca-file=${files.caCert}`,
      `--cluster-signing-cert-file=${files.caCert}`,
      `--cluster-signing-key-file=${files.caKey}`,
      "--v=1",
    ]);
    await waitUntilHealthy({
      url: `https://127.0.0.1:${controllerManagerPort}/healthz`,
      tls: adminTls,
      timeoutMs: readyTimeoutMs,
      watch: [etcd, apiServer, controllerManager],
    });

    const startupMs = Date.now() - started;
    log(`control plane ready in ${startupMs}ms (${dir})`);
    const named: [string, ManagedProcess][] = [
      ["etcd", etcd],
      ["kube-apiserver", apiServer],
      ["kube-controller-manager", controllerManager],
    ];
    return {
      kubeconfigPath: files.kubeconfig,
      server,
      dir,
      caCertPath: files.caCert,
      pids: { etcd: etcd.pid, apiServer: apiServer.pid, controllerManager: controllerManager.pid },
      logs: { etcd: etcd.logPath, apiServer: apiServer.logPath, controllerManager: controllerManager.logPath },
      startupMs,
      ca,
      memory: () => named.flatMap(([name, p]) => readMemory(name, p.pid) ?? []),
      stop,
    };
  } catch (error) {
    const tails = processes.map((p) => `--- ${p.name} (${p.logPath}) ---\n${p.tail(30)}`).join("\n");
    await stop();
    if (error instanceof StartupError) throw error;
    throw new StartupError(`control plane failed to start: ${(error as Error).message}${tails === "" ? "" : `\n${tails}`}`, {
      cause: error,
    });
  }
}
