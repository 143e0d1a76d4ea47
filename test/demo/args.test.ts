import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_REVOCATION_BUDGET_MS, DEFAULT_TIMEOUT_MS, DEMO_USAGE, DemoUsageError, parseDemoArgs, type DemoOptions, type ParseContext } from "../../src/demo/index.ts";

const files = new Set(["/home/pat/.kube/config", "/work/kind.kubeconfig", "/env/one.kubeconfig"]);
const ctx = (env: Record<string, string | undefined> = {}): ParseContext => ({ env, home: "/home/pat", exists: (p) => files.has(p), cwd: "/work" });

function options(argv: string[], env: Record<string, string | undefined> = {}): DemoOptions {
  const inv = parseDemoArgs(argv, ctx(env));
  if (inv.kind !== "run") throw new Error("expected a run");
  return inv.options;
}

function refusal(argv: string[], env: Record<string, string | undefined> = {}, home = "/home/pat"): string {
  try {
    parseDemoArgs(argv, { ...ctx(env), home });
  } catch (error) {
    if (error instanceof DemoUsageError) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
}

describe("parseDemoArgs", () => {
  it("starts a local control plane for namespace acme when given no flags, even with KUBECONFIG set", () => {
    expect(options([], { KUBECONFIG: "/env/one.kubeconfig" })).toEqual({
      cluster: { kind: "local" },
      namespace: "acme",
      keep: false,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      revocationBudgetMs: DEFAULT_REVOCATION_BUDGET_MS,
      color: "auto",
      workDir: undefined,
    });
  });

  it("runs against the cluster of --kubeconfig, resolving a relative path", () => {
    expect(options(["--kubeconfig", "kind.kubeconfig"]).cluster).toEqual({ kind: "existing", kubeconfig: "/work/kind.kubeconfig", source: "--kubeconfig" });
    expect(options(["--kubeconfig=/work/kind.kubeconfig"]).cluster).toMatchObject({ kubeconfig: "/work/kind.kubeconfig" });
  });

  it("with --existing-cluster takes KUBECONFIG, else ~/.kube/config", () => {
    expect(options(["--existing-cluster"], { KUBECONFIG: "/env/one.kubeconfig" }).cluster).toEqual({ kind: "existing", kubeconfig: "/env/one.kubeconfig", source: "KUBECONFIG" });
    expect(options(["--existing-cluster"]).cluster).toEqual({ kind: "existing", kubeconfig: "/home/pat/.kube/config", source: "~/.kube/config" });
    expect(options(["--existing-cluster", "--kubeconfig", "/work/kind.kubeconfig"], { KUBECONFIG: "/env/one.kubeconfig" }).cluster).toMatchObject({ source: "--kubeconfig" });
  });

  it("refuses a kubeconfig that does not exist, naming the path", () => {
    expect(refusal(["--kubeconfig", "gone.yaml"])).toContain("/work/gone.yaml does not exist");
    expect(refusal(["--existing-cluster"], { KUBECONFIG: "/env/missing" })).toContain("/env/missing, which does not exist");
    expect(refusal(["--existing-cluster"], {}, "/nowhere")).toMatch(/KUBECONFIG is not set and ~\/\.kube\/config does not exist; pass --kubeconfig PATH/);
  });

  it("refuses a KUBECONFIG of several files with --existing-cluster, asking for one", () => {
    expect(refusal(["--existing-cluster"], { KUBECONFIG: "/env/one.kubeconfig:/work/kind.kubeconfig" })).toContain("lists 2 files");
  });

  it("reads --namespace, --keep, --timeout, --revocation-budget, --work-dir and --no-color", () => {
    expect(options(["--namespace", "demo-7", "--keep", "--timeout", "2m", "--revocation-budget=2.5s", "--work-dir", "tmp", "--no-color"])).toEqual({
      cluster: { kind: "local" },
      namespace: "demo-7",
      keep: true,
      timeoutMs: 120_000,
      revocationBudgetMs: 2_500,
      color: false,
      workDir: "/work/tmp",
    });
  });

  it("turns colours off when NO_COLOR is set", () => {
    expect(options([], { NO_COLOR: "1" }).color).toBe(false);
  });

  it("answers help for --help and -h, whatever else is given", () => {
    expect(parseDemoArgs(["--keep", "--help"], ctx())).toEqual({ kind: "help" });
    expect(parseDemoArgs(["-h"], ctx())).toEqual({ kind: "help" });
    expect(DEMO_USAGE).toContain("--existing-cluster");
  });

  it("refuses unknown flags, missing values, values on switches and bad durations", () => {
    expect(refusal(["--frobnicate"])).toBe("unknown flag --frobnicate: run hack/dev demo -- --help for the flags");
    expect(refusal(["--namespace"])).toBe("--namespace needs a value");
    expect(refusal(["--namespace", "--keep"])).toBe("--namespace needs a value");
    expect(refusal(["--keep=yes"])).toBe("--keep takes no value");
    expect(refusal(["--timeout", "soon"])).toContain("not a duration");
    expect(refusal(["--timeout", "100ms"])).toContain("not a duration");
    expect(refusal(["--timeout", "0.5s"])).toBe("--timeout 0.5s: must be at least 1s");
  });

  it("reads -n as --namespace, also with a value that starts with one dash", () => {
    expect(options(["-n", "demo-7"]).namespace).toBe("demo-7");
    expect(refusal(["-n", "-acme"])).toContain("--namespace -acme: not a namespace name");
    expect(refusal(["stray"])).toBe("unknown flag stray: run hack/dev demo -- --help for the flags");
  });

  it("accepts every DNS-1123 label as a namespace and refuses anything else", () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    fc.assert(
      fc.property(label, (ns) => {
        expect(options(["--namespace", ns]).namespace).toBe(ns);
      }),
    );
    for (const bad of ["Acme", "-acme", "acme-", "ac_me", "a".repeat(64), "ac.me"]) {
      expect(refusal(["--namespace", bad])).toContain("not a namespace name");
    }
  });
});
