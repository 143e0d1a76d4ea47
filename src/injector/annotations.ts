// The opt-in label and the settings annotations of an injected Pod (set them on the Pod
// template of a Deployment), each validated. A value that does not parse is refused with the
// annotation's name and what it accepts, so a typo denies the Pod instead of starting it broken.

import { InjectionError } from "./errors.ts";

/** Pod (or namespace) label that asks for the sidecar. */
export const INJECT_LABEL = "keyward.dev/inject";
/** The value of INJECT_LABEL that opts a Pod in; "false" opts a Pod of an opted-in namespace out. */
export const INJECT_ENABLED = "true";
/** Label set on injected Pods: the NetworkPolicy of config/verifier selects it. */
export const PROTECT_LABEL = "keyward.dev/protect";
/** Annotation set on injected Pods: the sidecar image. `kubectl get pod -o yaml` shows it. */
export const INJECTED_ANNOTATION = "keyward.dev/injected";

export const ANNOTATIONS = {
  mode: "keyward.dev/mode",
  upstreamPort: "keyward.dev/upstream-port",
  listenPort: "keyward.dev/listen-port",
  adminPort: "keyward.dev/admin-port",
  bundleSource: "keyward.dev/bundle-source",
  logLevel: "keyward.dev/log-level",
  cpuRequest: "keyward.dev/cpu-request",
  cpuLimit: "keyward.dev/cpu-limit",
  memoryRequest: "keyward.dev/memory-request",
  memoryLimit: "keyward.dev/memory-limit",
} as const;

export const MODES = ["proxy", "authz"] as const;
export const BUNDLE_SOURCES = ["configmap", "file"] as const;
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export interface SidecarSettings {
  mode: (typeof MODES)[number];
  /** Proxy mode: the app's port on 127.0.0.1. */
  upstreamPort: number;
  /** The verifier's port (named `keyward`): Services target it. */
  listenPort: number;
  /** /metrics, /healthz and /readyz (named `keyward-admin`). */
  adminPort: number;
  bundleSource: (typeof BUNDLE_SOURCES)[number];
  logLevel: (typeof LOG_LEVELS)[number];
  cpuRequest: string;
  cpuLimit: string;
  memoryRequest: string;
  memoryLimit: string;
}

/** The settings of a Pod without annotations: those of config/verifier. */
export const DEFAULT_SETTINGS: Readonly<SidecarSettings> = {
  mode: "proxy",
  upstreamPort: 8080,
  listenPort: 8443,
  adminPort: 9090,
  bundleSource: "configmap",
  logLevel: "info",
  cpuRequest: "20m",
  cpuLimit: "500m",
  memoryRequest: "64Mi",
  memoryLimit: "128Mi",
};

const CPU = /^(\d+m|\d+(\.\d{1,3})?)$/;
const MEMORY = /^\d+(Ki|Mi|Gi|k|M|G)?$/;

/** Reads the settings annotations of `what` (e.g. `Pod acme/web-1`). Throws InjectionError naming the first bad one. */
export function parseSettings(annotations: Readonly<Record<string, string>> | undefined, what: string): SidecarSettings {
  const a = annotations ?? {};
  const bad = (key: string, accepts: string): InjectionError =>
    new InjectionError("ERR_INJECT_ANNOTATION", key, `${what}: annotation ${key}: "${a[key] ?? ""}" is not ${accepts}; fix the annotation or remove it for the default`);
  const oneOf = <T extends string>(key: string, values: readonly T[], fallback: T): T => {
    const v = a[key];
    if (v === undefined) return fallback;
    const found = values.find((x) => x === v);
    if (found === undefined) throw bad(key, `one of ${values.join(", ")}`);
    return found;
  };
  const port = (key: string, fallback: number): number => {
    const v = a[key];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!/^\d{1,5}$/.test(v) || n < 1 || n > 65535) throw bad(key, "a port number from 1 to 65535");
    return n;
  };
  const quantity = (key: string, pattern: RegExp, example: string, fallback: string): string => {
    const v = a[key];
    if (v === undefined) return fallback;
    if (!pattern.test(v) || /^0+(m|Ki|Mi|Gi|k|M|G)?$/.test(v)) throw bad(key, `a positive quantity such as ${example}`);
    return v;
  };
  const s: SidecarSettings = {
    mode: oneOf(ANNOTATIONS.mode, MODES, DEFAULT_SETTINGS.mode),
    upstreamPort: port(ANNOTATIONS.upstreamPort, DEFAULT_SETTINGS.upstreamPort),
    listenPort: port(ANNOTATIONS.listenPort, DEFAULT_SETTINGS.listenPort),
    adminPort: port(ANNOTATIONS.adminPort, DEFAULT_SETTINGS.adminPort),
    bundleSource: oneOf(ANNOTATIONS.bundleSource, BUNDLE_SOURCES, DEFAULT_SETTINGS.bundleSource),
    logLevel: oneOf(ANNOTATIONS.logLevel, LOG_LEVELS, DEFAULT_SETTINGS.logLevel),
    cpuRequest: quantity(ANNOTATIONS.cpuRequest, CPU, "20m or 0.5", DEFAULT_SETTINGS.cpuRequest),
    cpuLimit: quantity(ANNOTATIONS.cpuLimit, CPU, "500m or 1", DEFAULT_SETTINGS.cpuLimit),
    memoryRequest: quantity(ANNOTATIONS.memoryRequest, MEMORY, "64Mi", DEFAULT_SETTINGS.memoryRequest),
    memoryLimit: quantity(ANNOTATIONS.memoryLimit, MEMORY, "128Mi", DEFAULT_SETTINGS.memoryLimit),
  };
  const clash = (k1: string, k2: string, p: number): InjectionError =>
    new InjectionError("ERR_INJECT_ANNOTATION", k1, `${what}: annotation ${k1}: port ${p} is also ${k2}; the sidecar's ports must all differ: change one of the annotations`);
  if (s.listenPort === s.adminPort) throw clash(ANNOTATIONS.adminPort, ANNOTATIONS.listenPort, s.adminPort);
  if (s.mode === "proxy" && s.upstreamPort === s.listenPort) throw clash(ANNOTATIONS.upstreamPort, ANNOTATIONS.listenPort, s.upstreamPort);
  if (s.mode === "proxy" && s.upstreamPort === s.adminPort) throw clash(ANNOTATIONS.upstreamPort, ANNOTATIONS.adminPort, s.upstreamPort);
  if (milliCpu(s.cpuRequest) > milliCpu(s.cpuLimit)) {
    throw new InjectionError("ERR_INJECT_ANNOTATION", ANNOTATIONS.cpuRequest, `${what}: annotation ${ANNOTATIONS.cpuRequest}: ${s.cpuRequest} is more than the limit ${s.cpuLimit} (${ANNOTATIONS.cpuLimit}); lower the request or raise the limit`);
  }
  if (bytes(s.memoryRequest) > bytes(s.memoryLimit)) {
    throw new InjectionError("ERR_INJECT_ANNOTATION", ANNOTATIONS.memoryRequest, `${what}: annotation ${ANNOTATIONS.memoryRequest}: ${s.memoryRequest} is more than the limit ${s.memoryLimit} (${ANNOTATIONS.memoryLimit}); lower the request or raise the limit`);
  }
  return s;
}

function milliCpu(q: string): number {
  return q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000;
}

const UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

function bytes(q: string): number {
  const m = /^(\d+)(\D*)$/.exec(q)!;
  return Number(m[1]) * (UNITS[m[2]!] ?? 1);
}
