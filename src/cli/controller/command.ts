// `keyward controller [flags]`: parses the flags, starts the controller
// (startController) and runs it until SIGTERM or SIGINT, then shuts it down
// gracefully. Exit codes: 0 after a graceful stop, 1 when it cannot start, 2 for
// a bad flag.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { DestinationStream } from "pino";
import { KubeClient } from "../../kube/client.ts";
import { KubeConfigError, loadKubeConfig, SERVICE_ACCOUNT_DIR } from "../../kube/config.ts";
import { aborted, stopSignalOf } from "../../lib/stop.ts";
import { controllerHelp, ControllerConfigError, parseControllerArgs, type ControllerConfig } from "./options.ts";
import { ownImage } from "../../webhook/own-image.ts";
import { startController, type RunningController, type StartControllerOptions } from "./start.ts";

/** What the command needs of its surroundings (the CLI's CliIO fits). */
export interface ControllerCommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Stops the controller gracefully when aborted. Default: SIGTERM or SIGINT. */
  stopSignal?: AbortSignal;
}

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

  const webhook = await webhookOptions(config, io, leaseNamespace, saNamespaceFile);
  if (typeof webhook === "number") return webhook;

  const stop = stopSignalOf(io);
  let running: RunningController;
  try {
    running = await startController({
      kubeconfigPath: config.kubeconfig,
      env: { ...io.env },
      namespaces: config.namespaces,
      systemNamespace: config.systemNamespace,
      bundleSigning: config.bundleSigning,
      ...(config.shardSelector === null ? {} : { shardSelector: config.shardSelector }),
      issuer: config.issuer,
      issuerForm: config.issuerForm,
      sharedIssuerWindowSeconds: config.sharedIssuerWindowSeconds,
      leaderElection: config.leaderElect ? { namespace: leaseNamespace ?? "", name: config.leaseName } : false,
      metrics: config.metrics,
      health: config.health,
      logLevel: config.logLevel,
      logDestination: io.stdout as unknown as DestinationStream,
      workers: config.workers,
      resyncPeriodMs: config.resyncPeriodMs,
      verifierTtlMs: config.verifierTtlMs,
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

/**
 * The injection webhook's settings, with the namespace it lives in and the image it injects (the
 * controller's own unless --sidecar-image says otherwise), or the exit code of a refusal.
 */
async function webhookOptions(config: ControllerConfig, io: ControllerCommandIO, leaseNamespace: string | null, saNamespaceFile: string): Promise<StartControllerOptions["webhook"] | number> {
  if (config.webhook === null) return null;
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
  return { host: wh.listen.host, port: wh.listen.port, image, namespace, serviceName: wh.serviceName, secretName: wh.secretName, configurationName: wh.configurationName, files: wh.files };
}
