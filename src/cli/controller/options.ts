// The options of `keyward controller`: flags, each with an environment variable,
// read into the settings startController takes. Bad input is refused with the
// flag at fault and the fix; nothing starts.

import { parseDuration } from "../../api/duration.ts";
import { envValue, flagSpec, flagValue, parseFlags, renderFlagHelp, type Env, type FlagSpec } from "../../lib/flags.ts";
import { DEFAULT_ISSUER_FORM, DEFAULT_SHARED_ISSUER_WINDOW_SECONDS, ISSUER_FORMS, MAX_SHARED_ISSUER_WINDOW_SECONDS, type IssuerForm } from "../../token/index.ts";
import { WEBHOOK_FLAGS, webhookConfig, WebhookConfigError, type WebhookConfig } from "../../webhook/options.ts";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The issuer (`iss`) of tokens when none is configured. */
export const DEFAULT_ISSUER = "keyward";
/** The Lease the replicas compete for. */
export const DEFAULT_LEASE_NAME = "keyward-controller";
/** The namespace of keyward's own objects when neither the flag nor $POD_NAMESPACE names one. */
export const DEFAULT_SYSTEM_NAMESPACE = "keyward-system";

export interface ListenAddress {
  host: string;
  port: number;
}

/** What the command line and the environment say. */
export interface ControllerConfig {
  /** An explicit kubeconfig file; null: KUBECONFIG, then in-cluster. */
  kubeconfig: string | null;
  /** The namespaces watched; empty: all namespaces. */
  namespaces: string[];
  /** A label selector on Namespaces: this controller is the shard owning those it selects; null: no shard. */
  shardSelector: string | null;
  /**
   * keyward's own namespace: what tenants must neither read nor write lives there (private
   * signing keys, the bundle-signing key, the controller's records) and what verifiers trust.
   */
  systemNamespace: string;
  issuer: string;
  /** The `iss` of issued tokens: "tenant" (`{issuer}/{tenant}`) or "shared" (the issuer). */
  issuerForm: IssuerForm;
  /** The token service accepts callers' tokens with the shared `iss` this long after their `iat`. */
  sharedIssuerWindowSeconds: number;
  leaderElect: boolean;
  /** Namespace of the leader-election Lease. */
  leaderElectionNamespace: string | null;
  leaseName: string;
  metrics: ListenAddress | null;
  health: ListenAddress | null;
  logLevel: LogLevel;
  /** Reconciles of each controller running at once. */
  workers: number;
  /** Informers re-deliver every object this often; 0: never. */
  resyncPeriodMs: number;
  /** The token service (src/issuer) in this process; null: off. */
  tokenService: TokenServiceConfig | null;
  /** The sidecar-injection webhook (src/webhook) in this process; null: off. */
  webhook: WebhookConfig | null;
  /** How long a verifier report counts without a heartbeat; null: reports are not read. */
  verifierTtlMs: number | null;
  bundleSigning: BundleSigningConfig;
}

/** Bundle signing: how often signatures are renewed and bundle-signing keys rotated. */
export interface BundleSigningConfig {
  resignAfterMs: number;
  rotateEveryMs: number;
  overlapMs: number;
}

export interface TokenServiceConfig {
  listen: ListenAddress;
  certFile: string;
  keyFile: string;
  /** The URL clients reach it at (jwks_uri, token_endpoint); null: the issuer. */
  publicUrl: string | null;
}

/** A flag or environment variable that cannot be used. `flag` names it ("--issuer"). */
export class ControllerConfigError extends Error {
  readonly code = "ERR_CONTROLLER_CONFIG";
  readonly flag: string;
  constructor(flag: string, message: string) {
    super(message);
    this.name = "ControllerConfigError";
    this.flag = flag;
  }
}

export const CONTROLLER_FLAGS: readonly FlagSpec[] = [
  { name: "kubeconfig", env: "KEYWARD_KUBECONFIG", kind: "string", arg: "PATH", help: "kubeconfig file; default $KUBECONFIG, then the in-cluster service account" },
  {
    name: "namespace",
    env: "KEYWARD_NAMESPACES",
    kind: "string",
    arg: "NS",
    multiple: true,
    help: "watch only this namespace (repeat the flag for several; the variable is comma-separated); default all namespaces",
  },
  {
    name: "shard-selector",
    env: "KEYWARD_SHARD_SELECTOR",
    kind: "string",
    arg: "SELECTOR",
    help: "run as the shard that owns the namespaces with these labels (e.g. keyward.dev/shard=a); give each shard its own --leader-election-id; not with --namespace",
  },
  {
    name: "system-namespace",
    env: "KEYWARD_SYSTEM_NAMESPACE",
    kind: "string",
    arg: "NS",
    help: `keyward's own namespace, where private keys and its records are kept (no tenant may read it); default $POD_NAMESPACE, then ${DEFAULT_SYSTEM_NAMESPACE}`,
  },
  { name: "issuer", env: "KEYWARD_ISSUER", kind: "string", arg: "URL", default: DEFAULT_ISSUER, help: "the issuer of every bundle; a tenant's issuer is ISSUER/TENANT (set it to the token service's URL for OpenID Connect discovery)" },
  {
    name: "issuer-form",
    env: "KEYWARD_ISSUER_FORM",
    kind: "string",
    arg: ISSUER_FORMS.join("|"),
    default: DEFAULT_ISSUER_FORM,
    help: "the iss of issued tokens: tenant = ISSUER/TENANT (token format v2, discoverable); shared = ISSUER (v1, for verifiers older than v2)",
  },
  {
    name: "shared-issuer-window",
    env: "KEYWARD_SHARED_ISSUER_WINDOW",
    kind: "string",
    arg: "DURATION",
    default: `${DEFAULT_SHARED_ISSUER_WINDOW_SECONDS / 3600}h`,
    help: "the token service accepts a caller's token with the shared iss (v1) this long after its iat; 0s refuses them",
  },
  { name: "leader-elect", env: "KEYWARD_LEADER_ELECT", kind: "boolean", help: "run the controllers only while holding the Lease (for more than one replica)" },
  {
    name: "leader-election-namespace",
    env: "KEYWARD_LEADER_ELECTION_NAMESPACE",
    kind: "string",
    arg: "NS",
    help: "namespace of the Lease; default $POD_NAMESPACE, then the service account's namespace",
  },
  { name: "leader-election-id", env: "KEYWARD_LEADER_ELECTION_ID", kind: "string", arg: "NAME", default: DEFAULT_LEASE_NAME, help: "name of the Lease" },
  {
    name: "metrics-bind-address",
    env: "KEYWARD_METRICS_BIND_ADDRESS",
    kind: "string",
    arg: "HOST:PORT",
    default: "0.0.0.0:8080",
    help: "address of /metrics; \"0\" or \"off\" disables it",
  },
  {
    name: "health-probe-bind-address",
    env: "KEYWARD_HEALTH_PROBE_BIND_ADDRESS",
    kind: "string",
    arg: "HOST:PORT",
    default: "0.0.0.0:8081",
    help: "address of /healthz, /livez and /readyz; \"0\" or \"off\" disables it",
  },
  { name: "log-level", env: "KEYWARD_LOG_LEVEL", kind: "string", arg: LOG_LEVELS.join("|"), default: "info", help: "log level (JSON lines on stdout)" },
  { name: "workers", env: "KEYWARD_WORKERS", kind: "string", arg: "N", default: "4", help: "reconciles of each kind running at once (1 to 64)" },
  {
    name: "resync-period",
    env: "KEYWARD_RESYNC_PERIOD",
    kind: "string",
    arg: "DURATION",
    default: "10m",
    help: "every object is reconciled again this often, changed or not (e.g. 10m, 1h); 0s disables",
  },
  {
    name: "bundle-resign-after",
    env: "KEYWARD_BUNDLE_RESIGN_AFTER",
    kind: "string",
    arg: "DURATION",
    default: "24h",
    help: "sign every tenant bundle again once its signature is this old (one ConfigMap write per tenant each time); keep it under half the verifiers' --max-signature-age",
  },
  {
    name: "bundle-key-rotate-every",
    env: "KEYWARD_BUNDLE_KEY_ROTATE_EVERY",
    kind: "string",
    arg: "DURATION",
    default: "720h",
    help: "the bundle-signing key signs this long before a new one is made",
  },
  {
    name: "bundle-key-overlap",
    env: "KEYWARD_BUNDLE_KEY_OVERLAP",
    kind: "string",
    arg: "DURATION",
    default: "10m",
    help: "a new bundle-signing key is published this long before it signs (verifiers must see it first), and a retired one stays published this long after every bundle was signed again",
  },
  {
    name: "token-service-listen",
    env: "KEYWARD_TOKEN_SERVICE_LISTEN",
    kind: "string",
    arg: "HOST:PORT",
    help: "serve the token service (issuer API, OAuth 2.0 client credentials, discovery) over HTTPS here; needs --tls-cert-file and --tls-key-file; default off",
  },
  { name: "tls-cert-file", env: "KEYWARD_TLS_CERT_FILE", kind: "string", arg: "PATH", help: "the token service's certificate (PEM), reloaded when it changes" },
  { name: "tls-key-file", env: "KEYWARD_TLS_KEY_FILE", kind: "string", arg: "PATH", help: "the token service's private key (PEM), reloaded when it changes" },
  { name: "token-service-url", env: "KEYWARD_TOKEN_SERVICE_URL", kind: "string", arg: "URL", help: "the https URL clients reach the token service at (jwks_uri, token_endpoint); default the issuer" },
  {
    name: "verifier-ttl",
    env: "KEYWARD_VERIFIER_TTL",
    kind: "string",
    arg: "DURATION",
    default: "3m",
    help: "a verifier whose report Lease was not renewed for this long is dead: it no longer holds up key activation or revocation; 0s: verifier reports are not read (activation waits for prePublish)",
  },
  ...WEBHOOK_FLAGS,
];

/** Flags kept for manifests written before the current names. */
const ALIASES: Readonly<Record<string, string>> = {
  "metrics-listen": "metrics-bind-address",
  "health-listen": "health-probe-bind-address",
};

export function controllerHelp(): string {
  return renderFlagHelp(
    [
      "Usage: keyward controller [flags]",
      "",
      "Runs the keyward controller: mints and rotates the signing keys of ApiKeys, issues AccessTokens",
      "into Secrets, and writes each tenant's bundle ConfigMap (keyward-bundle) that verifiers enforce.",
      "",
    ],
    CONTROLLER_FLAGS,
  );
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Reads the controller's flags and environment. Throws ControllerConfigError naming the flag at fault. */
export function parseControllerArgs(argv: readonly string[], env: Env): ControllerConfig {
  const values = parseFlags(argv, {
    command: "controller",
    flags: CONTROLLER_FLAGS,
    aliases: ALIASES,
    flagInMessage: /'(--?[\w-]+)/,
    error: (flag, message) => new ControllerConfigError(flag, message),
  });

  const spec = (name: string): FlagSpec => flagSpec(CONTROLLER_FLAGS, name);
  const str = (name: string): string | undefined => flagValue(CONTROLLER_FLAGS, values, env, name);
  const bool = (name: string): boolean => {
    const v = values[name];
    if (v === true) return true;
    const fromEnv = envValue(spec(name), env);
    if (fromEnv === undefined || fromEnv === "") return false;
    if (/^(true|1|yes)$/i.test(fromEnv)) return true;
    if (/^(false|0|no)$/i.test(fromEnv)) return false;
    throw new ControllerConfigError(`--${name}`, `${spec(name).env}="${fromEnv}" is not a boolean: use true or false`);
  };

  const kubeconfig = str("kubeconfig") ?? null;

  let namespaces: string[];
  const nsFlags = values.namespace;
  if (Array.isArray(nsFlags) && nsFlags.length > 0) namespaces = nsFlags.map(String);
  else namespaces = (envValue(spec("namespace"), env) ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const ns of namespaces) {
    if (!DNS_LABEL.test(ns)) {
      throw new ControllerConfigError("--namespace", `--namespace "${ns}" is not a namespace name (lower-case letters, digits and "-", at most 63)`);
    }
  }
  namespaces = [...new Set(namespaces)];

  const systemNamespace = str("system-namespace") || env.POD_NAMESPACE || DEFAULT_SYSTEM_NAMESPACE;
  if (!DNS_LABEL.test(systemNamespace)) {
    throw new ControllerConfigError("--system-namespace", `--system-namespace "${systemNamespace}" is not a namespace name (lower-case letters, digits and "-", at most 63)`);
  }
  if (namespaces.length > 0 && namespaces.includes(systemNamespace)) {
    throw new ControllerConfigError("--namespace", `--namespace "${systemNamespace}" is keyward's own namespace (--system-namespace): tenants cannot live there; watch other namespaces`);
  }

  const issuer = str("issuer")!;
  if (issuer.trim() !== issuer || issuer === "" || issuer.length > 1024 || /[\s\p{Cc}]/u.test(issuer)) {
    throw new ControllerConfigError("--issuer", `--issuer "${issuer}" must be a non-empty string of at most 1024 characters without spaces, e.g. https://keyward.example.com`);
  }

  const form = str("issuer-form")!;
  const issuerForm = ISSUER_FORMS.find((f) => f === form);
  if (issuerForm === undefined) throw new ControllerConfigError("--issuer-form", `--issuer-form must be one of ${ISSUER_FORMS.join(", ")}, not "${form}"`);
  const sharedIssuerWindowSeconds = sharedIssuerWindow(str("shared-issuer-window")!);

  const leaderElect = bool("leader-elect");
  let leaderElectionNamespace = str("leader-election-namespace") ?? env.POD_NAMESPACE ?? null;
  if (leaderElectionNamespace === "") leaderElectionNamespace = null;
  if (leaderElectionNamespace !== null && !DNS_LABEL.test(leaderElectionNamespace)) {
    throw new ControllerConfigError("--leader-election-namespace", `--leader-election-namespace "${leaderElectionNamespace}" is not a namespace name`);
  }
  const leaseName = str("leader-election-id")!;
  if (!DNS_SUBDOMAIN.test(leaseName)) {
    throw new ControllerConfigError("--leader-election-id", `--leader-election-id "${leaseName}" is not a valid object name (lower-case letters, digits, "-" and ".")`);
  }

  const shardSelector = shardSelectorOf(str("shard-selector"), namespaces, leaderElect, leaseName);

  const metrics = listenAddress("--metrics-bind-address", str("metrics-bind-address")!);
  const health = listenAddress("--health-probe-bind-address", str("health-probe-bind-address")!);
  if (metrics !== null && health !== null && metrics.port !== 0 && metrics.port === health.port && metrics.host === health.host) {
    throw new ControllerConfigError("--metrics-bind-address", "--metrics-bind-address and --health-probe-bind-address must differ");
  }

  const logLevel = str("log-level")!;
  const level = LOG_LEVELS.find((l) => l === logLevel);
  if (level === undefined) throw new ControllerConfigError("--log-level", `--log-level must be one of ${LOG_LEVELS.join(", ")}, not "${logLevel}"`);

  const workersText = str("workers")!;
  const workers = Number(workersText);
  if (!/^\d+$/.test(workersText) || workers < 1 || workers > 64) {
    throw new ControllerConfigError("--workers", `--workers must be a whole number from 1 to 64, not "${workersText}"`);
  }

  const resyncText = str("resync-period")!;
  const resyncPeriodMs = durationFlag("resync-period", resyncText, '"10m" or "1h30m"');
  if (resyncPeriodMs !== 0 && resyncPeriodMs < 1000) {
    throw new ControllerConfigError("--resync-period", `--resync-period ${resyncText} is shorter than 1s: use at least 1s, or 0s to disable it`);
  }

  const ttlText = str("verifier-ttl")!;
  const verifierTtlMs = durationFlag("verifier-ttl", ttlText, '"3m" or "90s"');
  if (verifierTtlMs !== 0 && verifierTtlMs < 1000) {
    throw new ControllerConfigError("--verifier-ttl", `--verifier-ttl ${ttlText} is shorter than 1s: use at least 1s (three heartbeats of the verifiers' --report-interval), or 0s to ignore reports`);
  }
  const signingDuration = (name: string, min: number): number => {
    const text = str(name)!;
    const ms = durationFlag(name, text, '"24h" or "10m"');
    if (ms < min) throw new ControllerConfigError(`--${name}`, `--${name} ${text} is shorter than ${min / 1000}s`);
    return ms;
  };
  const bundleSigning = {
    resignAfterMs: signingDuration("bundle-resign-after", 60_000),
    rotateEveryMs: signingDuration("bundle-key-rotate-every", 3_600_000),
    overlapMs: signingDuration("bundle-key-overlap", 1000),
  };
  if (bundleSigning.overlapMs >= bundleSigning.rotateEveryMs) {
    throw new ControllerConfigError("--bundle-key-overlap", "--bundle-key-overlap must be shorter than --bundle-key-rotate-every");
  }

  let webhook: WebhookConfig | null;
  try {
    webhook = webhookConfig(str, listenAddress);
  } catch (err) {
    if (err instanceof WebhookConfigError) throw new ControllerConfigError(err.flag, err.message);
    throw err;
  }
  return { kubeconfig, namespaces, shardSelector, systemNamespace, issuer, issuerForm, sharedIssuerWindowSeconds, leaderElect, leaderElectionNamespace, leaseName, metrics, health, logLevel: level, workers, resyncPeriodMs, tokenService: tokenServiceConfig(str), webhook, verifierTtlMs: verifierTtlMs === 0 ? null : verifierTtlMs, bundleSigning };
}

/** The duration `text` of flag --`name` gives, in milliseconds; refused with the flag and an `example` when it is none. */
function durationFlag(name: string, text: string, example: string): number {
  try {
    return parseDuration(text);
  } catch {
    throw new ControllerConfigError(`--${name}`, `--${name} "${text}" is not a duration: write hours, minutes and seconds such as ${example}`);
  }
}

function sharedIssuerWindow(text: string): number {
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw new ControllerConfigError("--shared-issuer-window", `--shared-issuer-window "${text}" is not a duration: write hours, minutes and seconds such as "720h"`);
  }
  if (ms % 1000 !== 0 || ms / 1000 > MAX_SHARED_ISSUER_WINDOW_SECONDS) {
    throw new ControllerConfigError("--shared-issuer-window", `--shared-issuer-window ${text} must be whole seconds of at most ${MAX_SHARED_ISSUER_WINDOW_SECONDS / 3600}h`);
  }
  return ms / 1000;
}

/** A label selector's characters: keys, values, =, ==, !=, !, in, notin, parentheses and commas. */
const LABEL_SELECTOR = /^[A-Za-z0-9._/\-=!,() ]+$/;

function shardSelectorOf(text: string | undefined, namespaces: readonly string[], leaderElect: boolean, leaseName: string): string | null {
  if (text === undefined) return null;
  const selector = text.trim();
  if (selector === "" || !LABEL_SELECTOR.test(selector)) {
    throw new ControllerConfigError("--shard-selector", `--shard-selector "${text}" is not a label selector: write one such as keyward.dev/shard=a`);
  }
  if (namespaces.length > 0) {
    throw new ControllerConfigError("--shard-selector", "--shard-selector and --namespace exclude each other: a shard's namespaces are those its selector matches");
  }
  if (leaderElect && leaseName === DEFAULT_LEASE_NAME) {
    throw new ControllerConfigError(
      "--leader-election-id",
      `--shard-selector with --leader-elect needs a Lease of the shard's own: set --leader-election-id (e.g. ${DEFAULT_LEASE_NAME}-shard-a), different for every shard`,
    );
  }
  return selector;
}

function tokenServiceConfig(str: (name: string) => string | undefined): TokenServiceConfig | null {
  const listenText = str("token-service-listen");
  const certFile = str("tls-cert-file");
  const keyFile = str("tls-key-file");
  const publicUrl = str("token-service-url") ?? null;
  const listen = listenText === undefined ? null : listenAddress("--token-service-listen", listenText);
  if (listen === null) {
    for (const [flag, value] of [["--tls-cert-file", certFile], ["--tls-key-file", keyFile], ["--token-service-url", publicUrl]] as const) {
      if (value !== undefined && value !== null) throw new ControllerConfigError(flag, `${flag} is set but the token service is off: set --token-service-listen too, or remove ${flag}`);
    }
    return null;
  }
  if (certFile === undefined || certFile === "" || keyFile === undefined || keyFile === "") {
    throw new ControllerConfigError(certFile === undefined || certFile === "" ? "--tls-cert-file" : "--tls-key-file", "--token-service-listen serves HTTPS only: set both --tls-cert-file and --tls-key-file (e.g. from a cert-manager Secret)");
  }
  if (publicUrl !== null && !/^https:\/\/[^\s/]+(\/[^\s]*)?$/.test(publicUrl)) {
    throw new ControllerConfigError("--token-service-url", `--token-service-url "${publicUrl}" must be an https URL such as https://keyward.example.com`);
  }
  return { listen, certFile, keyFile, publicUrl };
}

/** "HOST:PORT", ":PORT" (all interfaces) or "0"/"off" (disabled). */
export function listenAddress(flag: string, text: string): ListenAddress | null {
  if (text === "0" || text === "off") return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new ControllerConfigError(flag, `${flag} "${text}" must be HOST:PORT (e.g. 0.0.0.0:8080 or :8080), or "0" to disable it`);
  }
  const host = m[1] ?? m[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}
