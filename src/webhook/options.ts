// The flags of the webhook in `keyward controller`. The webhook is off unless
// --webhook-bind-address is set.

import type { FlagSpec } from "../lib/flags.ts";

export const DEFAULT_SERVICE_NAME = "keyward-webhook";
export const DEFAULT_SECRET_NAME = "keyward-webhook-tls";
export const DEFAULT_CONFIGURATION_NAME = "keyward-injector";

export const WEBHOOK_FLAGS: readonly FlagSpec[] = [
  {
    name: "webhook-bind-address",
    env: "KEYWARD_WEBHOOK_BIND_ADDRESS",
    kind: "string",
    arg: "HOST:PORT",
    help: "serve the sidecar-injection admission webhook (HTTPS, path /inject) here, with certificates keyward manages; default off",
  },
  {
    name: "sidecar-image",
    env: "KEYWARD_SIDECAR_IMAGE",
    kind: "string",
    arg: "IMAGE",
    help: "the verifier image injected; default the image of this controller's own container (read from its Pod), so the two never skew",
  },
  { name: "webhook-service", env: "KEYWARD_WEBHOOK_SERVICE", kind: "string", arg: "NAME", default: DEFAULT_SERVICE_NAME, help: "the Service the API server calls the webhook through (its DNS names go into the certificate)" },
  { name: "webhook-secret", env: "KEYWARD_WEBHOOK_SECRET", kind: "string", arg: "NAME", default: DEFAULT_SECRET_NAME, help: "the Secret holding the webhook's CA and serving pair, in the controller's namespace" },
  {
    name: "webhook-configuration",
    env: "KEYWARD_WEBHOOK_CONFIGURATION",
    kind: "string",
    arg: "NAME",
    default: DEFAULT_CONFIGURATION_NAME,
    help: "the MutatingWebhookConfiguration whose caBundle keyward keeps in step",
  },
  {
    name: "webhook-cert-file",
    env: "KEYWARD_WEBHOOK_CERT_FILE",
    kind: "string",
    arg: "PATH",
    help: "serve this certificate (PEM, reloaded when it changes) instead of the ones keyward makes, e.g. from cert-manager; the caBundle is then not managed; needs --webhook-key-file",
  },
  { name: "webhook-key-file", env: "KEYWARD_WEBHOOK_KEY_FILE", kind: "string", arg: "PATH", help: "the private key of --webhook-cert-file (PEM)" },
];

export interface WebhookConfig {
  listen: { host: string; port: number };
  /** null: the controller's own image, read from its Pod at start. */
  image: string | null;
  serviceName: string;
  secretName: string;
  configurationName: string;
  /** The serving pair from files (cert-manager); null: keyward manages the certificates. */
  files: { certFile: string; keyFile: string } | null;
}

/** A webhook flag with a value that cannot be used; `flag` names it. */
export class WebhookConfigError extends Error {
  readonly code = "ERR_WEBHOOK_CONFIG";
  readonly flag: string;
  constructor(flag: string, message: string) {
    super(message);
    this.name = "WebhookConfigError";
    this.flag = flag;
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** The webhook's settings, or null when it is off. `listen` parses HOST:PORT the way the other bind addresses do. */
export function webhookConfig(str: (name: string) => string | undefined, listen: (flag: string, text: string) => { host: string; port: number } | null): WebhookConfig | null {
  const address = str("webhook-bind-address");
  const at = address === undefined ? null : listen("--webhook-bind-address", address);
  const image = str("sidecar-image") ?? null;
  const certFile = str("webhook-cert-file");
  const keyFile = str("webhook-key-file");
  if (at === null) {
    for (const [flag, value] of [["--sidecar-image", image], ["--webhook-cert-file", certFile], ["--webhook-key-file", keyFile]] as const) {
      if (value !== null && value !== undefined) throw new WebhookConfigError(flag, `${flag} is set but the webhook is off: set --webhook-bind-address too, or remove ${flag}`);
    }
    return null;
  }
  if ((certFile === undefined || certFile === "") !== (keyFile === undefined || keyFile === "")) {
    const missing = certFile === undefined || certFile === "" ? "--webhook-cert-file" : "--webhook-key-file";
    throw new WebhookConfigError(missing, "--webhook-cert-file and --webhook-key-file go together: set both (e.g. tls.crt and tls.key of a cert-manager Secret), or neither for certificates keyward manages");
  }
  if (image !== null && (image === "" || /\s/.test(image))) throw new WebhookConfigError("--sidecar-image", `--sidecar-image "${image}" is not an image reference such as ghcr.io/keyward/keyward:0.1.0`);
  const serviceName = str("webhook-service")!;
  if (!DNS_LABEL.test(serviceName)) throw new WebhookConfigError("--webhook-service", `--webhook-service "${serviceName}" is not a Service name (lower-case letters, digits and "-", at most 63)`);
  const secretName = str("webhook-secret")!;
  if (!DNS_SUBDOMAIN.test(secretName)) throw new WebhookConfigError("--webhook-secret", `--webhook-secret "${secretName}" is not a valid object name`);
  const configurationName = str("webhook-configuration")!;
  if (!DNS_SUBDOMAIN.test(configurationName)) throw new WebhookConfigError("--webhook-configuration", `--webhook-configuration "${configurationName}" is not a valid object name`);
  const files = certFile === undefined || certFile === "" || keyFile === undefined ? null : { certFile, keyFile };
  return { listen: at, image, serviceName, secretName, configurationName, files };
}
