// Keeps the webhook's certificates current, on every replica, level-based: every
// `checkIntervalMs` (and soon after a failure) it reads the Secret and the webhook
// configuration, writes what planCertificates says is missing, sets the configuration's
// caBundle, and hands the Secret's serving pair to the server. Replicas race safely: every
// write is a create or a replace at the resourceVersion read, and the loser of a race reads
// the winner's result next time. No replica restarts: the server swaps its pair in place.
// Key material is never logged; the log says what changed and when the certificates expire.

import type { KubeClient } from "../kube/client.ts";
import type { Clock, TimerHandle } from "../kube/clock.ts";
import { isAlreadyExists, isConflict } from "../kube/errors.ts";
import type { Logger } from "../kube/logger.ts";
import type { Resource } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";
import { planCertificates, trusts, type CertData, type CertPolicy, type Minter } from "./certs.ts";
import type { ServingPair } from "./server.ts";

export const MUTATING_WEBHOOK_CONFIGURATIONS: Resource = {
  group: "admissionregistration.k8s.io",
  version: "v1",
  plural: "mutatingwebhookconfigurations",
  kind: "MutatingWebhookConfiguration",
  namespaced: false,
};
const SECRETS: Resource = { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true };

interface SecretObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export interface WebhookConfigurationObject extends KubeObject {
  webhooks?: { name: string; clientConfig?: { caBundle?: string; [field: string]: unknown }; [field: string]: unknown }[];
}

export interface RotatorOptions {
  client: KubeClient;
  clock: Clock;
  log: Logger;
  mint: Minter;
  policy: CertPolicy;
  /** The Secret holding the CA and the serving pair. */
  namespace: string;
  secretName: string;
  /** The MutatingWebhookConfiguration whose caBundle is kept in step. */
  configurationName: string;
  checkIntervalMs: number;
  /** Called with each serving pair the Secret holds, when it differs from the last one. */
  load(pair: ServingPair): void;
}

const RETRY_MS = 1_000;
const START_ATTEMPTS = 10;

export class CertRotator {
  readonly #o: RotatorOptions;
  #timer: TimerHandle | null = null;
  #stopped = false;
  #loaded: string | null = null;
  #trusted: { caPem: string; since: number } | null = null;
  #running: Promise<void> | null = null;
  #missingConfigurationLogged = false;

  constructor(options: RotatorOptions) {
    this.#o = options;
  }

  /**
   * Checks until a serving pair is loaded (a replica that lost the race to create the Secret
   * reads the winner's a moment later), at most `START_ATTEMPTS` times, then keeps checking
   * until stop().
   */
  async start(): Promise<void> {
    await this.check();
    for (let i = 1; i < START_ATTEMPTS && this.#loaded === null && !this.#stopped; i++) {
      await new Promise<void>((resolve) => this.#o.clock.setTimeout(resolve, RETRY_MS));
      await this.check();
    }
  }

  /** One pass; schedules the next. Resolves true when everything was in step. */
  check(): Promise<void> {
    this.#running ??= this.#pass().finally(() => { this.#running = null; });
    return this.#running;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #pass(): Promise<void> {
    let next = this.#o.checkIntervalMs;
    try {
      if (!(await this.#reconcile())) next = Math.min(RETRY_MS, next);
    } catch (err) {
      this.#o.log.warn({ err: err instanceof Error ? err.message : String(err), secret: `${this.#o.namespace}/${this.#o.secretName}` }, "webhook certificates: check failed, retrying");
      next = Math.min(RETRY_MS, next);
    }
    if (this.#stopped) return;
    if (this.#timer !== null) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(() => { void this.check(); }, next);
  }

  /** True when nothing needed writing (or the writes went through). */
  async #reconcile(): Promise<boolean> {
    const o = this.#o;
    const now = o.clock.now();
    const secret = await o.client.find<SecretObject>(SECRETS, { namespace: o.namespace, name: o.secretName });
    const config = await o.client.find<WebhookConfigurationObject>(MUTATING_WEBHOOK_CONFIGURATIONS, { name: o.configurationName });
    const data = decode(secret?.data);
    const trusted = config === undefined ? null : trustedBundle(config);
    const caPem = data["ca.crt"];
    if (caPem !== undefined && trusts(trusted, caPem)) {
      if (this.#trusted?.caPem !== caPem) this.#trusted = { caPem, since: now };
    } else this.#trusted = null;

    const plan = planCertificates({ data, trusted, trustedSince: this.#trusted?.since ?? null }, now, o.policy, o.mint);
    let current = data;
    if (plan.data !== null) {
      const body: SecretObject = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: o.secretName,
          namespace: o.namespace,
          labels: { "app.kubernetes.io/name": "keyward", "app.kubernetes.io/component": "webhook" },
          ...(secret?.metadata?.resourceVersion === undefined ? {} : { resourceVersion: secret.metadata.resourceVersion }),
        },
        type: "Opaque",
        data: encode(plan.data),
      };
      try {
        if (secret === undefined) await o.client.create(SECRETS, body);
        else await o.client.replace(SECRETS, body);
      } catch (err) {
        // Another replica wrote first: read its result on the next pass.
        if (isConflict(err) || isAlreadyExists(err)) return false;
        throw err;
      }
      o.log.info({ secret: `${o.namespace}/${o.secretName}`, changes: plan.changes }, "webhook certificates renewed");
      current = plan.data;
    }
    this.#load(current);

    if (config === undefined) {
      if (!this.#missingConfigurationLogged) o.log.warn({ configuration: o.configurationName }, "webhook certificates: the MutatingWebhookConfiguration does not exist; its caBundle will be set once it does");
      this.#missingConfigurationLogged = true;
      return plan.data === null;
    }
    this.#missingConfigurationLogged = false;
    const want = Buffer.from(plan.caBundle).toString("base64");
    const webhooks = config.webhooks ?? [];
    if (webhooks.some((w) => w.clientConfig?.caBundle !== want)) {
      const updated: WebhookConfigurationObject = { ...config, webhooks: webhooks.map((w) => ({ ...w, clientConfig: { ...w.clientConfig, caBundle: want } })) };
      try {
        await o.client.replace(MUTATING_WEBHOOK_CONFIGURATIONS, updated);
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
      o.log.info({ configuration: o.configurationName, cas: (plan.caBundle.match(/BEGIN CERTIFICATE/g) ?? []).length }, "webhook caBundle updated");
      return false;
    }
    return plan.data === null;
  }

  #load(data: CertData): void {
    const cert = data["tls.crt"];
    const key = data["tls.key"];
    if (cert === undefined || key === undefined) return;
    if (this.#loaded === cert) return;
    try {
      this.#o.load({ cert, key });
      this.#loaded = cert;
    } catch (err) {
      this.#o.log.error({ err: err instanceof Error ? err.message : String(err), secret: `${this.#o.namespace}/${this.#o.secretName}` }, "webhook certificates: the serving pair does not load; keeping the previous one");
    }
  }
}

/** The bundle the configuration's webhooks all trust; null when they differ or none is set. */
function trustedBundle(config: WebhookConfigurationObject): string | null {
  const bundles = new Set((config.webhooks ?? []).map((w) => w.clientConfig?.caBundle ?? ""));
  if (bundles.size !== 1) return null;
  const only = [...bundles][0]!;
  return only === "" ? null : Buffer.from(only, "base64").toString("utf8");
}

function decode(data: Record<string, string> | undefined): CertData {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
  return out;
}

function encode(data: CertData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) if (typeof v === "string") out[k] = Buffer.from(v).toString("base64");
  return out;
}
