import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { COMMAND_NAMES, parseInvocation, UsageError, type Invocation } from "../../src/plugin/index.ts";

function refusal(argv: string[]): UsageError {
  try {
    parseInvocation(argv);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`the arguments were accepted: ${argv.join(" ")}`);
}

const common = { namespace: undefined, kubeconfig: undefined, context: undefined, dryRun: false };

describe("parseInvocation", () => {
  it("reads each command with its object and the common flags, wherever the flags stand", () => {
    expect(parseInvocation(["rotate", "reporting", "-n", "acme"])).toEqual({
      command: "rotate",
      apiKey: "reporting",
      value: undefined,
      common: { ...common, namespace: "acme" },
    });
    expect(parseInvocation(["rotate", "reporting", "--kubeconfig=/k"])).toMatchObject({ common: { kubeconfig: "/k" } });
    expect(parseInvocation(["revoke-token", "--context", "prod", "ingest", "--dry-run"])).toEqual({
      command: "revoke-token",
      accessToken: "ingest",
      common: { ...common, context: "prod", dryRun: true },
    });
    expect(parseInvocation(["token", "ingest"])).toEqual({ command: "token", accessToken: "ingest", common });
    expect(parseInvocation(["status", "-A"])).toEqual({ command: "status", allNamespaces: true, common });
    expect(parseInvocation(["status", "--namespace", "acme"])).toEqual({ command: "status", allNamespaces: false, common: { ...common, namespace: "acme" } });
  });

  it("reads the three forms of revoke, with an optional request value", () => {
    expect(parseInvocation(["revoke", "k", "--deposed"])).toMatchObject({ action: { kind: "deposed", value: undefined } });
    expect(parseInvocation(["revoke", "k", "--all", "--value", "INC-42"])).toMatchObject({ action: { kind: "all", value: "INC-42" } });
    expect(parseInvocation(["revoke", "k", "--before", "2026-11-29T12:00:00+01:00"])).toMatchObject({ action: { kind: "before", time: "2026-11-29T12:00:00+01:00" } });
    expect(parseInvocation(["revoke", "k", "--before", "now"])).toMatchObject({ action: { kind: "before", time: "now" } });
  });

  it("answers help for the tool and for each command", () => {
    expect(parseInvocation(["--help"])).toEqual({ command: "help", topic: undefined });
    expect(parseInvocation(["help", "revoke"])).toEqual({ command: "help", topic: "revoke" });
    for (const name of COMMAND_NAMES) expect(parseInvocation([name, "-h"])).toEqual({ command: "help", topic: name });
  });

  it("refuses a missing command, an unknown command and a flag before the command", () => {
    expect(refusal([]).message).toContain("a command is required");
    expect(refusal(["rotat", "k"]).message).toMatch(/unknown command "rotat".*rotate, revoke, revoke-token, token, status/);
    expect(refusal(["-n", "acme", "status"]).message).toContain("put the command first");
    expect(refusal(["help", "nope"]).message).toContain('unknown command "nope"');
  });

  it("refuses a missing, extra or malformed object name", () => {
    expect(refusal(["rotate"]).message).toBe("kubectl keyward rotate needs the APIKEY: kubectl keyward rotate APIKEY");
    expect(refusal(["token", "a", "b"]).message).toContain("takes one ACCESSTOKEN, got 2");
    expect(refusal(["status", "x"]).message).toContain("takes no argument");
    expect(refusal(["rotate", "Reporting"]).message).toContain('APIKEY "Reporting" is not an object name');
    expect(refusal(["rotate", "a".repeat(64)]).message).toContain("longer than 63 characters");
    expect(refusal(["revoke-token", "../secrets"]).message).toContain("is not an object name");
  });

  it("refuses flags that belong to another command, unknown flags and bad flag values", () => {
    expect(refusal(["token", "t", "--dry-run"]).message).toMatch(/Unknown option '--dry-run'.*kubectl keyward token --help/);
    expect(refusal(["rotate", "k", "-A"]).message).toContain("Unknown option '-A'");
    expect(refusal(["status", "-A", "-n", "acme"]).message).toBe("-A/--all-namespaces and -n/--namespace exclude each other");
    expect(refusal(["status", "-n", "Acme"]).message).toContain('"Acme" is not a namespace name');
    expect(refusal(["rotate", "k", "--value", "x".repeat(64)]).message).toContain("--value must be 1 to 63 characters");
    expect(refusal(["rotate", "k", "--kubeconfig="]).message).toBe("--kubeconfig needs a value");
  });

  it("asks revoke for exactly one of --deposed, --all and --before, and an RFC 3339 time", () => {
    expect(refusal(["revoke", "k"]).message).toContain("needs exactly one of --deposed");
    expect(refusal(["revoke", "k", "--all", "--deposed"]).message).toContain("got --deposed and --all");
    expect(refusal(["revoke", "k", "--before", "yesterday"]).message).toContain('--before "yesterday" is not an RFC 3339 time');
    expect(refusal(["revoke", "k", "--before", "2026-02-30T00:00:00Z"]).message).toContain("is not an RFC 3339 time");
    expect(refusal(["revoke", "k", "--before", "now", "--value", "x"]).message).toContain("--value goes with --deposed or --all");
  });

  it("accepts every valid ApiKey name and namespace, in any order of object and flags", () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
    fc.assert(
      fc.property(label, label, fc.boolean(), (name, ns, flagsFirst) => {
        const argv = flagsFirst ? ["rotate", "-n", ns, name] : ["rotate", name, "--namespace", ns];
        const inv = parseInvocation(argv) as Extract<Invocation, { command: "rotate" }>;
        return inv.apiKey === name && inv.common.namespace === ns;
      }),
    );
  });

  it("answers any command line with an invocation or a UsageError, never anything else", () => {
    const word = fc.oneof(fc.constantFrom(...COMMAND_NAMES, "-n", "-A", "--all", "--before", "--value", "--dry-run", "now", "acme", "--"), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 6 }), (argv) => {
        try {
          parseInvocation(argv);
          return true;
        } catch (err) {
          return err instanceof UsageError;
        }
      }),
    );
  });
});
