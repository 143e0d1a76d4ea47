// The demo's command line: where the cluster comes from, which namespace the tenant gets,
// and whether everything keeps running at the end. Pure: the environment and the home
// directory are passed in, and whether a file exists is asked through `exists`.

import { existsSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { parseDuration } from "../api/index.ts";
import { parseFlags, type FlagErrorKind, type FlagSpec } from "../lib/flags.ts";

export type ClusterChoice =
  | { kind: "local" }
  | { kind: "existing"; kubeconfig: string; source: "--kubeconfig" | "KUBECONFIG" | "~/.kube/config" };

export interface DemoOptions {
  cluster: ClusterChoice;
  /** The tenant namespace the samples go into (they name `acme`; the demo moves them here). */
  namespace: string;
  /** Keep everything running at the end until Ctrl-C. */
  keep: boolean;
  /** Deadline of every wait (a process becoming ready, an object becoming Ready, a status code). */
  timeoutMs: number;
  /** Step 5 passes when the revoked token is refused within this time of the patch. */
  revocationBudgetMs: number;
  /** Colours: true, false, or decided by whether stdout is a terminal. */
  color: boolean | "auto";
  /** Parent of the demo's temporary directory (default the OS temp dir). */
  workDir: string | undefined;
}

export type DemoInvocation = { kind: "help" } | { kind: "run"; options: DemoOptions };

export const DEFAULT_NAMESPACE = "acme";
export const DEFAULT_TIMEOUT_MS = 90_000;
export const DEFAULT_REVOCATION_BUDGET_MS = 1_000;

/** Raised for a command line the demo cannot run; the message says what to change. */
export class DemoUsageError extends Error {
  override readonly name = "DemoUsageError";
  readonly code = "ERR_DEMO_USAGE";
}

export const DEMO_USAGE = `Usage: hack/dev demo [flags]     (or: npm run demo -- [flags])

Runs keyward for real and shows it working: a local control plane (kube-apiserver, etcd,
kube-controller-manager), the keyward controller and a verifier in front of a small upstream,
the samples of config/samples and config/demo, and HTTP requests through the verifier: an
allowed request (200), one outside the policy (403), one without a token (401), a rotation,
the revocation of one token and "revoke all". Exits non-zero if any expectation fails.

Flags:
  --kubeconfig PATH         run against the existing cluster of this kubeconfig instead of
                            starting a control plane (CRDs are installed only if missing; the
                            namespace the demo creates is deleted at the end)
  --existing-cluster        run against the cluster of $KUBECONFIG, else ~/.kube/config
                            (its current context)
  --namespace NAME          the tenant namespace to create (default ${DEFAULT_NAMESPACE}); on an existing
                            cluster it must not exist yet
  --keep                    keep everything running at the end and print how to talk to it,
                            until Ctrl-C
  --timeout DURATION        deadline of each wait (default ${DEFAULT_TIMEOUT_MS / 1000}s)
  --revocation-budget DURATION
                            a revoked token must be refused within this time of the patch
                            (default ${DEFAULT_REVOCATION_BUDGET_MS / 1000}s)
  --work-dir DIR            parent of the demo's temporary directory (default the OS temp dir)
  --no-color                no colours (also when NO_COLOR is set or stdout is not a terminal)
  --help                    this text

The first run builds the control-plane binaries from Go modules (about 7 minutes on 2 cores,
cached in .cache/test-assets); later runs take about half a minute.
`;

const NAMESPACE_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface ParseContext {
  env: Readonly<Record<string, string | undefined>>;
  /** The home directory (~/.kube/config); default env.HOME. */
  home?: string | undefined;
  /** Whether a file exists; default fs.existsSync. */
  exists?: (path: string) => boolean;
  /** Relative paths resolve against this directory; default process.cwd(). */
  cwd?: string;
}

function durationFlag(flag: string, value: string, minMs: number): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch {
    throw new DemoUsageError(`${flag} ${value}: not a duration; write it like 90s, 2m or 1m30s`);
  }
  if (ms < minMs) throw new DemoUsageError(`${flag} ${value}: must be at least ${minMs / 1000}s`);
  return ms;
}

/** The demo's flags, on the shared flag machinery (src/lib/flags.ts); DEMO_USAGE is their help. */
export const DEMO_FLAGS: readonly FlagSpec[] = [
  { name: "kubeconfig", kind: "string", arg: "PATH", help: "run against the existing cluster of this kubeconfig" },
  { name: "existing-cluster", kind: "boolean", help: "run against the cluster of $KUBECONFIG, else ~/.kube/config" },
  { name: "namespace", short: "n", kind: "string", arg: "NAME", default: DEFAULT_NAMESPACE, help: "the tenant namespace to create" },
  { name: "keep", kind: "boolean", help: "keep everything running at the end" },
  { name: "timeout", kind: "string", arg: "DURATION", help: "deadline of each wait" },
  { name: "revocation-budget", kind: "string", arg: "DURATION", help: "a revoked token must be refused within this time of the patch" },
  { name: "work-dir", kind: "string", arg: "DIR", help: "parent of the demo's temporary directory" },
  { name: "no-color", kind: "boolean", help: "no colours" },
];

/** A refusal of the command line as the demo words it. */
function usageError(flag: string, kind: FlagErrorKind, message: string): DemoUsageError {
  if (kind === "missing-value") return new DemoUsageError(`${flag} needs a value`);
  if (kind === "unexpected-value") return new DemoUsageError(`${flag} takes no value`);
  if (kind === "unknown" || kind === "positional") return new DemoUsageError(`unknown flag ${flag}: run hack/dev demo -- --help for the flags`);
  return new DemoUsageError(message);
}

/**
 * `--namespace -acme` as `--namespace=-acme`: a value may start with one dash (the
 * namespace check then names what is wrong with it); one starting with "--" is the
 * next flag, so the flag before it has no value.
 */
function attachDashedValues(argv: readonly string[]): string[] {
  const valued = new Map<string, string>();
  for (const f of DEMO_FLAGS.filter((spec) => spec.kind === "string")) {
    valued.set(`--${f.name}`, f.name);
    if (f.short !== undefined) valued.set(`-${f.short}`, f.name);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = valued.get(arg);
    const next = argv[i + 1];
    if (name !== undefined && next !== undefined && next.startsWith("-") && !next.startsWith("--")) {
      out.push(`--${name}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

export function parseDemoArgs(argv: readonly string[], ctx: ParseContext): DemoInvocation {
  if (argv.includes("--help") || argv.includes("-h")) return { kind: "help" };
  const exists = ctx.exists ?? existsSync;
  const cwd = ctx.cwd ?? process.cwd();
  const values = parseFlags(attachDashedValues(argv), {
    command: "demo",
    flags: DEMO_FLAGS,
    error: (flag, message, kind) => usageError(flag, kind, message),
  });
  const str = (name: string): string | undefined => {
    const v = values[name];
    if (v === "") throw new DemoUsageError(`--${name} needs a value`);
    return typeof v === "string" ? v : undefined;
  };
  const kubeconfig = str("kubeconfig");
  const existingCluster = values["existing-cluster"] === true;
  const namespace = str("namespace") ?? DEFAULT_NAMESPACE;
  if (namespace.length > 63 || !NAMESPACE_PATTERN.test(namespace)) {
    throw new DemoUsageError(
      `--namespace ${namespace}: not a namespace name; use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
  const keep = values.keep === true;
  const timeout = str("timeout");
  const timeoutMs = timeout === undefined ? DEFAULT_TIMEOUT_MS : durationFlag("--timeout", timeout, 1_000);
  const budget = str("revocation-budget");
  const revocationBudgetMs = budget === undefined ? DEFAULT_REVOCATION_BUDGET_MS : durationFlag("--revocation-budget", budget, 0);
  const workDirFlag = str("work-dir");
  const workDir = workDirFlag === undefined ? undefined : resolve(cwd, workDirFlag);
  let color: boolean | "auto" = values["no-color"] === true ? false : "auto";

  if (color === "auto" && (ctx.env.NO_COLOR ?? "") !== "") color = false;

  let cluster: ClusterChoice = { kind: "local" };
  if (kubeconfig !== undefined) {
    const path = resolve(cwd, kubeconfig);
    if (!exists(path)) throw new DemoUsageError(`--kubeconfig ${kubeconfig}: ${path} does not exist; point it at the kubeconfig of the cluster to run on`);
    cluster = { kind: "existing", kubeconfig: path, source: "--kubeconfig" };
  } else if (existingCluster) {
    const fromEnv = (ctx.env.KUBECONFIG ?? "").split(delimiter).filter((p) => p !== "");
    if (fromEnv.length > 1) {
      throw new DemoUsageError(
        `--existing-cluster: KUBECONFIG lists ${fromEnv.length} files; the demo hands one kubeconfig to the controller, so pass the one to use with --kubeconfig PATH`,
      );
    }
    if (fromEnv.length === 1) {
      const path = resolve(cwd, fromEnv[0]!);
      if (!exists(path)) throw new DemoUsageError(`--existing-cluster: KUBECONFIG names ${path}, which does not exist`);
      cluster = { kind: "existing", kubeconfig: path, source: "KUBECONFIG" };
    } else {
      const home = ctx.home ?? ctx.env.HOME;
      const path = home === undefined || home === "" ? undefined : join(home, ".kube", "config");
      if (path === undefined || !exists(path)) {
        throw new DemoUsageError("--existing-cluster: KUBECONFIG is not set and ~/.kube/config does not exist; pass --kubeconfig PATH");
      }
      cluster = { kind: "existing", kubeconfig: path, source: "~/.kube/config" };
    }
  }

  return { kind: "run", options: { cluster, namespace, keep, timeoutMs, revocationBudgetMs, color, workDir } };
}
