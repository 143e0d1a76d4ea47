// The sidecar-injection admission webhook of the controller process: the HTTPS server
// (server.ts) and the certificate rotator (rotator.ts) that keeps its serving pair and the
// MutatingWebhookConfiguration's caBundle current. Every replica runs both, leader or not.

import type { KubeClient } from "../kube/client.ts";
import type { Clock } from "../kube/clock.ts";
import type { Logger } from "../kube/logger.ts";
import { DEFAULT_CERT_POLICY, type CertPolicy, type Minter } from "./certs.ts";
import { pkiMinter } from "./mint.ts";
import { PairFileWatcher, type PairFiles } from "./files.ts";
import { CertRotator } from "./rotator.ts";
import { startWebhookServer, type WebhookServer } from "./server.ts";

export { planCertificates, DEFAULT_CERT_POLICY, pemBlocks, trusts } from "./certs.ts";
export type { CertData, CertPlan, CertPolicy, CertState, Minter } from "./certs.ts";
export { pkiMinter } from "./mint.ts";
export { CertRotator, MUTATING_WEBHOOK_CONFIGURATIONS } from "./rotator.ts";
export { parseReview, review, ReviewError } from "./review.ts";
export type { AdmissionRequest, AdmissionResponse, AdmissionReview, Reviewed, ReviewOutcome } from "./review.ts";
export { startWebhookServer, WEBHOOK_PATH } from "./server.ts";
export { DEFAULT_CONFIGURATION_NAME, DEFAULT_SECRET_NAME, DEFAULT_SERVICE_NAME, WEBHOOK_FLAGS, webhookConfig, WebhookConfigError } from "./options.ts";
export type { WebhookConfig } from "./options.ts";

export interface StartWebhookOptions {
  host: string;
  port: number;
  /** The sidecar image. */
  image: string;
  client: KubeClient;
  clock: Clock;
  log: Logger;
  /** Namespace of the Secret and the Service. */
  namespace: string;
  secretName: string;
  configurationName: string;
  /** The Service the API server calls; its DNS names go into the serving certificate. */
  serviceName: string;
  /** More names or IP addresses for the certificate (a URL client config in tests). */
  extraHosts?: readonly string[];
  policy?: Partial<Omit<CertPolicy, "hosts">>;
  checkIntervalMs?: number;
  mint?: Minter;
  /** Serve this pair (reloaded when the files change) instead of managing certificates; the caBundle is then someone else's job. */
  files?: PairFiles | null;
}

export interface RunningWebhook {
  readonly port: number;
  /** True once a serving pair is loaded. */
  serving(): boolean;
  /** Runs a certificate check now (tests). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

export function serviceHosts(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

export async function startWebhook(o: StartWebhookOptions): Promise<RunningWebhook> {
  const server: WebhookServer = await startWebhookServer({ host: o.host, port: o.port, image: o.image, log: o.log });
  if (o.files != null) {
    const watcher = new PairFileWatcher({ files: o.files, clock: o.clock, log: o.log, pollIntervalMs: o.checkIntervalMs ?? 10_000, load: (pair) => { server.setPair(pair); } });
    await watcher.check();
    o.log.info({ port: server.port, image: o.image, certFile: o.files.certFile }, "sidecar-injection webhook serving (certificate from files)");
    return {
      port: server.port,
      serving: () => server.hasPair(),
      check: () => watcher.check(),
      stop: async () => {
        watcher.stop();
        await server.close();
      },
    };
  }
  const rotator = new CertRotator({
    client: o.client,
    clock: o.clock,
    log: o.log,
    mint: o.mint ?? pkiMinter,
    policy: { ...DEFAULT_CERT_POLICY, ...o.policy, hosts: [...serviceHosts(o.serviceName, o.namespace), ...(o.extraHosts ?? [])] },
    namespace: o.namespace,
    secretName: o.secretName,
    configurationName: o.configurationName,
    checkIntervalMs: o.checkIntervalMs ?? 60_000,
    load: (pair) => { server.setPair(pair); },
  });
  await rotator.start();
  o.log.info({ port: server.port, image: o.image, configuration: o.configurationName }, "sidecar-injection webhook serving");
  return {
    port: server.port,
    serving: () => server.hasPair(),
    check: () => rotator.check(),
    stop: async () => {
      rotator.stop();
      await server.close();
    },
  };
}
