// The verifier's configuration: flags of `keyward verifier`, each with an
// environment variable. A flag wins over its variable, a variable over the default.

import { isIP } from "node:net";
import { hostname } from "node:os";
import { flagValue, parseFlags, renderFlagHelp, type Env, type FlagSpec } from "../lib/flags.ts";
import { formatFlagDuration, parseFlagDuration } from "../lib/duration.ts";
import { DEFAULT_SHARED_ISSUER_WINDOW_SECONDS, MAX_SHARED_ISSUER_WINDOW_SECONDS } from "../token/index.ts";

export type VerifierMode = "proxy" | "authz";

export interface HostPort {
  host: string;
  port: number;
}

export type BundleSourceConfig =
  | { kind: "file"; path: string; pollIntervalMs: number }
  | { kind: "configmap"; namespace: string; name: string; kubeconfig: string | null };

/** Where the trusted bundle-signing keys come from; "off" accepts plain bundles (development only). */
export type BundleTrustConfig =
  | { kind: "configmap"; namespace: string; name: string; kubeconfig: string | null }
  | { kind: "file"; path: string; pollIntervalMs: number }
  | { kind: "off" };

/** The namespace keyward runs in, where the controller publishes the trusted bundle-signing keys. */
export const DEFAULT_SYSTEM_NAMESPACE = "keyward-system";
export const DEFAULT_TRUST_CONFIGMAP = `${DEFAULT_SYSTEM_NAMESPACE}/keyward-bundle-trust`;

export interface VerifierConfig {
  mode: VerifierMode;
  listen: HostPort;
  /** Proxy mode only: where allowed requests go. */
  upstream: URL | null;
  /** The namespace whose bundle this verifier enforces; a bundle of another tenant is refused. */
  tenant: string;
  bundle: BundleSourceConfig;
  /** The trusted bundle-signing keys. */
  trust: BundleTrustConfig;
  /** A bundle signed longer ago than this is refused when loaded. Null: no bound (--max-signature-age 0). */
  maxSignatureAgeMs: number | null;
  /** Metrics, /healthz and /readyz. Null: not served. */
  metricsListen: HostPort | null;
  /** Fail closed when the bundle was not loaded or confirmed for this long. Null: never. */
  maxBundleAgeMs: number | null;
  forwardAuthorization: boolean;
  leewaySeconds: number;
  /** Tokens with the shared (v1) `iss` are accepted this long after their `iat`. */
  sharedIssuerWindowSeconds: number;
  maxTokenBytes: number;
  maxHeaderBytes: number;
  maxHeaderCount: number;
  requestTimeoutMs: number;
  upstreamTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  drainTimeoutMs: number;
  logLevel: LogLevel;
  /** Fraction (0..1) of allowed requests that get a decision log line; denials are always logged. */
  decisionLogSample: number;
  /** Authz mode: where Envoy's gRPC ext_authz is served, or null. */
  grpcListen: HostPort | null;
  /** Authz mode: a prefix the proxy puts before the original path (Envoy ext_authz `path_prefix`). */
  authzPathPrefix: string;
  /** The verifier report (a Lease in the tenant's namespace); null: off. */
  report: ReportConfig | null;
}

export interface ReportConfig {
  /** The Pod the verifier runs in: names the Lease. */
  podName: string;
  /** The Pod's uid, which makes the Pod the Lease's owner; null: the Lease has no owner. */
  podUid: string | null;
  /** A heartbeat write once per this interval without a change. */
  heartbeatMs: number;
  /** --kubeconfig, for the file source too. */
  kubeconfig: string | null;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A flag or environment variable has a value the verifier cannot use. Exit code 2. */
export class ConfigError extends Error {
  readonly code = "ERR_CONFIG";
  /** The flag, e.g. `--listen`. */
  readonly flag: string;
  constructor(flag: string, message: string) {
    super(message);
    this.name = "ConfigError";
    this.flag = flag;
  }
}

/** Every flag of `keyward verifier`, in the order --help lists them. */
export const VERIFIER_FLAGS: readonly FlagSpec[] = [
  { name: "mode", env: "KEYWARD_VERIFIER_MODE", kind: "string", arg: "proxy|authz", default: "proxy", help: "proxy: a reverse proxy in front of the workload; authz: a forward-auth endpoint for Envoy ext_authz, nginx auth_request or Traefik forwardAuth" },
  { name: "listen", env: "KEYWARD_VERIFIER_LISTEN", kind: "string", arg: "HOST:PORT", default: "0.0.0.0:8080", help: "address of the proxy or authz server" },
  { name: "upstream", env: "KEYWARD_VERIFIER_UPSTREAM", kind: "string", arg: "URL", help: "proxy mode: the workload, e.g. http://127.0.0.1:8081" },
  { name: "tenant", env: "KEYWARD_VERIFIER_TENANT", kind: "string", arg: "NAME", help: "the tenant (namespace) whose bundle is enforced; default $POD_NAMESPACE" },
  { name: "bundle-file", env: "KEYWARD_VERIFIER_BUNDLE_FILE", kind: "string", arg: "PATH", help: "the bundle ConfigMap mounted as a directory, or its bundle.json file" },
  { name: "bundle-configmap", env: "KEYWARD_VERIFIER_BUNDLE_CONFIGMAP", kind: "string", arg: "NAMESPACE/NAME", help: "watch the bundle ConfigMap through the API (needs get, list, watch on it)" },
  { name: "kubeconfig", env: "KEYWARD_VERIFIER_KUBECONFIG", kind: "string", arg: "PATH", help: "with --bundle-configmap, --bundle-trust-configmap or --report: kubeconfig file; default $KUBECONFIG, then in-cluster (~/.kube/config is never used implicitly)" },
  { name: "bundle-trust-configmap", env: "KEYWARD_VERIFIER_BUNDLE_TRUST_CONFIGMAP", kind: "string", arg: "NAMESPACE/NAME", help: `the trusted bundle-signing keys: watch this ConfigMap in keyward's own namespace (needs get, list, watch on it); default ${DEFAULT_TRUST_CONFIGMAP} with --bundle-configmap` },
  { name: "bundle-trust-file", env: "KEYWARD_VERIFIER_BUNDLE_TRUST_FILE", kind: "string", arg: "PATH", help: "the trusted bundle-signing keys from a file (the trust ConfigMap's jwks.json, or a directory holding it), re-read every --bundle-poll-interval" },
  { name: "max-signature-age", env: "KEYWARD_VERIFIER_MAX_SIGNATURE_AGE", kind: "string", arg: "DURATION", default: "168h", help: "refuse to load a bundle signed longer ago than this (the controller re-signs every bundle at least every 24h by default); 0 disables" },
  { name: "insecure-allow-unsigned-bundles", env: "KEYWARD_VERIFIER_INSECURE_ALLOW_UNSIGNED_BUNDLES", kind: "boolean", help: "DEVELOPMENT ONLY: accept bundles without a signature; anyone who can write the bundle ConfigMap then decides which tokens pass" },
  { name: "bundle-poll-interval", env: "KEYWARD_VERIFIER_BUNDLE_POLL_INTERVAL", kind: "string", arg: "DURATION", default: "10s", help: "with --bundle-file: re-read the file this often besides watching it" },
  { name: "max-bundle-age", env: "KEYWARD_VERIFIER_MAX_BUNDLE_AGE", kind: "string", arg: "DURATION", default: "0", help: "answer 503 when the bundle was not loaded or confirmed for this long; 0 disables" },
  { name: "metrics-listen", env: "KEYWARD_VERIFIER_METRICS_LISTEN", kind: "string", arg: "HOST:PORT", default: "0.0.0.0:9090", help: "address of /metrics, /healthz and /readyz; \"off\" disables" },
  { name: "forward-authorization", env: "KEYWARD_VERIFIER_FORWARD_AUTHORIZATION", kind: "boolean", help: "proxy mode: pass the Authorization header on to the workload (default: removed)" },
  { name: "leeway", env: "KEYWARD_VERIFIER_LEEWAY", kind: "string", arg: "DURATION", default: "30s", help: "clock skew allowed on exp, nbf and iat" },
  {
    name: "shared-issuer-window",
    env: "KEYWARD_VERIFIER_SHARED_ISSUER_WINDOW",
    kind: "string",
    arg: "DURATION",
    default: `${DEFAULT_SHARED_ISSUER_WINDOW_SECONDS / 3600}h`,
    help: "a token with the shared iss (token format v1) is accepted this long after its iat, then refused with ERR_ISSUER_RETIRED; 0 refuses them",
  },
  { name: "max-token-bytes", env: "KEYWARD_VERIFIER_MAX_TOKEN_BYTES", kind: "string", arg: "N", default: "8192", help: "longer bearer tokens are refused (512 to 65536)" },
  { name: "max-header-bytes", env: "KEYWARD_VERIFIER_MAX_HEADER_BYTES", kind: "string", arg: "N", default: "16384", help: "largest request head accepted (answer 431 beyond)" },
  { name: "max-header-count", env: "KEYWARD_VERIFIER_MAX_HEADER_COUNT", kind: "string", arg: "N", default: "100", help: "requests with more headers are refused (431)" },
  { name: "request-timeout", env: "KEYWARD_VERIFIER_REQUEST_TIMEOUT", kind: "string", arg: "DURATION", default: "60s", help: "a client must send its whole request within this time" },
  { name: "upstream-timeout", env: "KEYWARD_VERIFIER_UPSTREAM_TIMEOUT", kind: "string", arg: "DURATION", default: "30s", help: "proxy mode: the workload must start answering within this time (else 504)" },
  { name: "keep-alive-timeout", env: "KEYWARD_VERIFIER_KEEP_ALIVE_TIMEOUT", kind: "string", arg: "DURATION", default: "5s", help: "idle client connections are closed after this time" },
  { name: "max-connections", env: "KEYWARD_VERIFIER_MAX_CONNECTIONS", kind: "string", arg: "N", default: "1024", help: "concurrent client connections; more are refused" },
  { name: "drain-timeout", env: "KEYWARD_VERIFIER_DRAIN_TIMEOUT", kind: "string", arg: "DURATION", default: "20s", help: "on SIGTERM, requests in flight get this long to finish" },
  { name: "grpc-listen", env: "KEYWARD_VERIFIER_GRPC_LISTEN", kind: "string", arg: "HOST:PORT", default: "off", help: "authz mode: also serve Envoy's gRPC ext_authz (envoy.service.auth.v3.Authorization/Check) here; \"off\" disables" },
  { name: "authz-path-prefix", env: "KEYWARD_VERIFIER_AUTHZ_PATH_PREFIX", kind: "string", arg: "PREFIX", default: "", help: "authz mode: prefix removed from the request path (Envoy ext_authz path_prefix)" },
  { name: "report", env: "KEYWARD_VERIFIER_REPORT", kind: "string", arg: "true|false", help: "report the bundle generation in use in a Lease of the tenant's namespace (needs create and patch on leases); default true with --bundle-configmap, false with --bundle-file" },
  { name: "report-interval", env: "KEYWARD_VERIFIER_REPORT_INTERVAL", kind: "string", arg: "DURATION", default: "60s", help: "with --report: a heartbeat write this often when nothing changed" },
  { name: "pod-name", env: "KEYWARD_VERIFIER_POD_NAME", kind: "string", arg: "NAME", help: "with --report: the Pod the verifier runs in; default $POD_NAME (downward API metadata.name), then the host name" },
  { name: "pod-uid", env: "KEYWARD_VERIFIER_POD_UID", kind: "string", arg: "UID", help: "with --report: the Pod's uid, which makes the Pod own the Lease so it is deleted with it; default $POD_UID (downward API metadata.uid)" },
  { name: "log-level", env: "KEYWARD_VERIFIER_LOG_LEVEL", kind: "string", arg: LOG_LEVELS.join("|"), default: "info", help: "log level" },
  { name: "decision-log-sample", env: "KEYWARD_VERIFIER_DECISION_LOG_SAMPLE", kind: "string", arg: "FRACTION", default: "0.01", help: "fraction (0..1) of allowed requests logged; every denial is logged" },
];

export function verifierHelp(): string {
  return renderFlagHelp(
    [
      "Usage: keyward verifier --mode proxy|authz --listen HOST:PORT [--upstream URL] --tenant NAME",
      "                        (--bundle-file PATH | --bundle-configmap NAMESPACE/NAME)",
      "                        [--bundle-trust-configmap NAMESPACE/NAME | --bundle-trust-file PATH] [flags]",
      "",
      "Checks the bearer access token and the access policies of every request against the tenant's",
      "keyward bundle, whose signature it checks against the trusted bundle-signing keys.",
      "Durations are Go-style: 90s, 5m, 1h30m, 500ms.",
      "",
    ],
    VERIFIER_FLAGS,
  );
}

/** Reads the verifier's flags and environment. Throws ConfigError naming the flag at fault. */
export function parseVerifierArgs(argv: readonly string[], env: Env): VerifierConfig {
  const values = parseFlags(argv, { command: "verifier", flags: VERIFIER_FLAGS, error: (flag, message) => new ConfigError(flag, message) });
  const str = (name: string): string | undefined => flagValue(VERIFIER_FLAGS, values, env, name);
  const flag = (name: string): string => `--${name}`;

  const mode = str("mode")!;
  if (mode !== "proxy" && mode !== "authz") {
    throw new ConfigError(flag("mode"), `--mode must be "proxy" or "authz", not "${mode}"`);
  }

  const listen = hostPort(flag("listen"), str("listen")!);

  const upstreamText = str("upstream");
  let upstream: URL | null = null;
  if (mode === "proxy") {
    if (upstreamText === undefined) {
      throw new ConfigError(flag("upstream"), "--upstream is required in proxy mode: the URL of the workload, e.g. --upstream http://127.0.0.1:8081");
    }
    upstream = upstreamUrl(upstreamText);
  } else if (upstreamText !== undefined) {
    throw new ConfigError(flag("upstream"), "--upstream is only used in proxy mode; remove it or use --mode proxy");
  }

  const tenant = str("tenant") ?? env["POD_NAMESPACE"];
  if (tenant === undefined || tenant === "") {
    throw new ConfigError(flag("tenant"), "--tenant is required: the namespace whose bundle this verifier enforces (or set POD_NAMESPACE)");
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(tenant)) {
    throw new ConfigError(flag("tenant"), `--tenant "${tenant}" is not a namespace name (lower-case letters, digits and "-", at most 63)`);
  }

  const bundle = bundleSourceConfig(str, tenant);
  const trust = bundleTrustConfig(str, bundle);
  const maxSignatureAge = duration(flag("max-signature-age"), str("max-signature-age")!);

  const metricsText = str("metrics-listen")!;
  const metricsListen = metricsText === "off" ? null : hostPort(flag("metrics-listen"), metricsText);
  if (metricsListen !== null && metricsListen.port !== 0 && metricsListen.port === listen.port && metricsListen.host === listen.host) {
    throw new ConfigError(flag("metrics-listen"), "--metrics-listen must differ from --listen");
  }

  const grpcText = str("grpc-listen")!;
  const grpcListen = grpcText === "off" ? null : hostPort(flag("grpc-listen"), grpcText);
  if (grpcListen !== null && mode !== "authz") {
    throw new ConfigError(flag("grpc-listen"), "--grpc-listen serves Envoy's gRPC ext_authz, which is the authz mode: add --mode authz, or remove --grpc-listen");
  }
  for (const [other, address] of [["listen", listen], ["metrics-listen", metricsListen]] as const) {
    if (grpcListen !== null && address !== null && grpcListen.port !== 0 && grpcListen.port === address.port && grpcListen.host === address.host) {
      throw new ConfigError(flag("grpc-listen"), `--grpc-listen must differ from --${other}`);
    }
  }

  const maxAge = duration(flag("max-bundle-age"), str("max-bundle-age")!);

  const forward = str("forward-authorization");
  const forwardAuthorization = forward === undefined ? false : bool(flag("forward-authorization"), forward);

  const leewayMs = duration(flag("leeway"), str("leeway")!);
  if (leewayMs > 300_000) throw new ConfigError(flag("leeway"), `--leeway ${formatFlagDuration(leewayMs)} is too generous; at most 5m`);

  const windowMs = duration(flag("shared-issuer-window"), str("shared-issuer-window")!);
  if (windowMs % 1000 !== 0 || windowMs > MAX_SHARED_ISSUER_WINDOW_SECONDS * 1000) {
    throw new ConfigError(flag("shared-issuer-window"), `--shared-issuer-window ${formatFlagDuration(windowMs)} must be whole seconds of at most ${MAX_SHARED_ISSUER_WINDOW_SECONDS / 3600}h`);
  }

  const logLevel = str("log-level")!;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(flag("log-level"), `--log-level must be one of ${LOG_LEVELS.join(", ")}, not "${logLevel}"`);
  }

  const sampleText = str("decision-log-sample")!;
  const sample = Number(sampleText);
  if (sampleText.trim() === "" || !Number.isFinite(sample) || sample < 0 || sample > 1) {
    throw new ConfigError(flag("decision-log-sample"), `--decision-log-sample must be a fraction between 0 and 1, not "${sampleText}"`);
  }

  const prefix = str("authz-path-prefix")!;
  if (prefix !== "" && (!prefix.startsWith("/") || prefix.endsWith("/") || /[?#]/.test(prefix))) {
    throw new ConfigError(flag("authz-path-prefix"), `--authz-path-prefix must start with "/" and not end with one, e.g. /ext-authz, not "${prefix}"`);
  }

  const report = reportConfig(str, env, bundle);

  return {
    mode,
    listen,
    upstream,
    tenant,
    bundle,
    trust,
    maxSignatureAgeMs: maxSignatureAge === 0 ? null : maxSignatureAge,
    metricsListen,
    grpcListen,
    maxBundleAgeMs: maxAge === 0 ? null : maxAge,
    forwardAuthorization,
    leewaySeconds: Math.floor(leewayMs / 1000),
    sharedIssuerWindowSeconds: windowMs / 1000,
    maxTokenBytes: integer(flag("max-token-bytes"), str("max-token-bytes")!, 512, 65_536),
    maxHeaderBytes: integer(flag("max-header-bytes"), str("max-header-bytes")!, 1024, 1_048_576),
    maxHeaderCount: integer(flag("max-header-count"), str("max-header-count")!, 8, 10_000),
    requestTimeoutMs: positiveDuration(flag("request-timeout"), str("request-timeout")!),
    upstreamTimeoutMs: positiveDuration(flag("upstream-timeout"), str("upstream-timeout")!),
    keepAliveTimeoutMs: positiveDuration(flag("keep-alive-timeout"), str("keep-alive-timeout")!),
    maxConnections: integer(flag("max-connections"), str("max-connections")!, 1, 1_000_000),
    drainTimeoutMs: duration(flag("drain-timeout"), str("drain-timeout")!),
    logLevel: logLevel as LogLevel,
    decisionLogSample: sample,
    authzPathPrefix: prefix,
    report,
  };
}

/** --report and its companions: on by default when the verifier talks to the API anyway. */
function reportConfig(str: (name: string) => string | undefined, env: Env, bundle: BundleSourceConfig): ReportConfig | null {
  const text = str("report");
  const on = text === undefined ? bundle.kind === "configmap" : bool("--report", text);
  if (!on) return null;
  const podName = str("pod-name") ?? nonEmpty(env["POD_NAME"]) ?? hostname();
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(podName)) {
    throw new ConfigError("--pod-name", `--pod-name "${podName}" is not a Pod name (lower-case letters, digits, "-" and "."); set POD_NAME from the downward API (fieldPath metadata.name)`);
  }
  const uid = str("pod-uid") ?? env["POD_UID"];
  const heartbeatMs = positiveDuration("--report-interval", str("report-interval")!);
  if (heartbeatMs < 100) throw new ConfigError("--report-interval", `--report-interval must be at least 100ms, not "${str("report-interval")!}"`);
  return {
    podName,
    podUid: uid === undefined || uid === "" ? null : uid,
    heartbeatMs,
    kubeconfig: bundle.kind === "configmap" ? bundle.kubeconfig : (str("kubeconfig") ?? null),
  };
}

/** --bundle-file or --bundle-configmap (exactly one), and their companions. */
function bundleSourceConfig(str: (name: string) => string | undefined, tenant: string): BundleSourceConfig {
  const file = str("bundle-file");
  const configMap = str("bundle-configmap");
  if ((file === undefined) === (configMap === undefined)) {
    throw new ConfigError(
      file === undefined ? "--bundle-file" : "--bundle-configmap",
      "give exactly one of --bundle-file PATH and --bundle-configmap NAMESPACE/NAME",
    );
  }
  if (file !== undefined) {
    if (file === "") throw new ConfigError("--bundle-file", "--bundle-file must name a file or directory");
    return { kind: "file", path: file, pollIntervalMs: positiveDuration("--bundle-poll-interval", str("bundle-poll-interval")!) };
  }
  const m = /^([a-z0-9][-a-z0-9]*)\/([a-z0-9][-a-z0-9.]*)$/.exec(configMap!);
  if (m === null) {
    throw new ConfigError("--bundle-configmap", `--bundle-configmap must be NAMESPACE/NAME, e.g. ${tenant}/keyward-bundle, not "${configMap!}"`);
  }
  return { kind: "configmap", namespace: m[1]!, name: m[2]!, kubeconfig: str("kubeconfig") ?? null };
}

/**
 * --bundle-trust-configmap or --bundle-trust-file (at most one), or the insecure opt-out;
 * with --bundle-configmap the trust ConfigMap defaults to keyward-system/keyward-bundle-trust.
 */
function bundleTrustConfig(str: (name: string) => string | undefined, bundle: BundleSourceConfig): BundleTrustConfig {
  const configMap = str("bundle-trust-configmap");
  const file = str("bundle-trust-file");
  const insecureText = str("insecure-allow-unsigned-bundles");
  const insecure = insecureText === undefined ? false : bool("--insecure-allow-unsigned-bundles", insecureText);
  if (configMap !== undefined && file !== undefined) {
    throw new ConfigError("--bundle-trust-file", "give at most one of --bundle-trust-configmap NAMESPACE/NAME and --bundle-trust-file PATH");
  }
  if (insecure) {
    if (configMap !== undefined || file !== undefined) {
      throw new ConfigError("--insecure-allow-unsigned-bundles", "--insecure-allow-unsigned-bundles turns the signature check off: remove it, or remove --bundle-trust-configmap/--bundle-trust-file");
    }
    return { kind: "off" };
  }
  if (file !== undefined) {
    if (file === "") throw new ConfigError("--bundle-trust-file", "--bundle-trust-file must name a file or directory");
    return { kind: "file", path: file, pollIntervalMs: positiveDuration("--bundle-poll-interval", str("bundle-poll-interval")!) };
  }
  if (configMap === undefined && bundle.kind === "file") {
    throw new ConfigError(
      "--bundle-trust-file",
      `with --bundle-file, give the trusted bundle-signing keys: --bundle-trust-file PATH, or --bundle-trust-configmap ${DEFAULT_TRUST_CONFIGMAP} (read through the API)`,
    );
  }
  const text = configMap ?? DEFAULT_TRUST_CONFIGMAP;
  const m = /^([a-z0-9][-a-z0-9]*)\/([a-z0-9][-a-z0-9.]*)$/.exec(text);
  if (m === null) throw new ConfigError("--bundle-trust-configmap", `--bundle-trust-configmap must be NAMESPACE/NAME, e.g. ${DEFAULT_TRUST_CONFIGMAP}, not "${text}"`);
  return { kind: "configmap", namespace: m[1]!, name: m[2]!, kubeconfig: str("kubeconfig") ?? null };
}

/** "HOST:PORT", "[::1]:PORT" or ":PORT" (all interfaces). */
export function hostPort(flag: string, text: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65_535) {
    throw new ConfigError(flag, `${flag} must be HOST:PORT, e.g. 127.0.0.1:8080 or :8080, not "${text}"`);
  }
  const host = m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]!);
  if (m[1] !== undefined && isIP(host) !== 6) {
    throw new ConfigError(flag, `${flag}: "${host}" is not an IPv6 address`);
  }
  return { host, port };
}

function upstreamUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError("--upstream", `--upstream must be an http URL such as http://127.0.0.1:8081, not "${text}"`);
  }
  if (url.protocol !== "http:") {
    throw new ConfigError("--upstream", `--upstream must use http: (the workload next to the verifier), not ${url.protocol}`);
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "" || (url.pathname !== "/" && url.pathname !== "")) {
    throw new ConfigError("--upstream", `--upstream must be scheme, host and port only (the request path is forwarded as it came), not "${text}"`);
  }
  return url;
}

function duration(flag: string, text: string): number {
  const ms = parseFlagDuration(text);
  if (ms === null) throw new ConfigError(flag, `${flag} must be a duration such as 30s, 5m or 1h30m, not "${text}"`);
  return ms;
}

function positiveDuration(flag: string, text: string): number {
  const ms = duration(flag, text);
  if (ms <= 0) throw new ConfigError(flag, `${flag} must be longer than 0, not "${text}"`);
  return ms;
}

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new ConfigError(flag, `${flag} must be a whole number, not "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(flag, `${flag} must be between ${min} and ${max}, not ${n}`);
  return n;
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === "" ? undefined : text;
}

function bool(flag: string, text: string): boolean {
  if (text === "true" || text === "1") return true;
  if (text === "false" || text === "0") return false;
  throw new ConfigError(flag, `${flag} must be true or false, not "${text}"`);
}
