import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { flagSpec, flagValue, parseFlags, renderFlagHelp, type FlagSpec, type ParseFlagsOptions } from "../../src/lib/flags.ts";

class TestFlagError extends Error {
  readonly flag: string;
  constructor(flag: string, message: string) {
    super(message);
    this.flag = flag;
  }
}

const FLAGS: readonly FlagSpec[] = [
  { name: "listen", env: "T_LISTEN", kind: "string", arg: "HOST:PORT", default: "0.0.0.0:8080", help: "where to listen" },
  { name: "name", env: "T_NAME", kind: "string", arg: "NAME", help: "a name" },
  { name: "prefix", env: "T_PREFIX", kind: "string", arg: "PREFIX", default: "", help: "a prefix" },
  { name: "tag", env: "T_TAGS", kind: "string", arg: "TAG", multiple: true, help: "a tag, repeatable" },
  { name: "verbose", env: "T_VERBOSE", kind: "boolean", help: "say more" },
];

const OPTIONS: ParseFlagsOptions = {
  command: "test",
  flags: FLAGS,
  aliases: { "listen-address": "listen" },
  error: (flag, message) => new TestFlagError(flag, message),
};

function refusal(argv: string[], opts: ParseFlagsOptions = OPTIONS): TestFlagError {
  try {
    parseFlags(argv, opts);
  } catch (err) {
    if (err instanceof TestFlagError) return err;
    throw err;
  }
  throw new Error(`expected ${argv.join(" ")} to be refused`);
}

describe("parseFlags", () => {
  it("returns the flags given: strings, true for booleans, arrays for repeatable flags", () => {
    const values = parseFlags(["--name", "a", "--verbose", "--tag", "x", "--tag=y"], OPTIONS);
    expect(values).toEqual(expect.objectContaining({ name: "a", verbose: true, tag: ["x", "y"] }));
    expect(values.listen).toBeUndefined();
  });

  it("resolves an alias to its flag", () => {
    expect(parseFlags(["--listen-address", ":9000"], OPTIONS).listen).toBe(":9000");
  });

  it("prefers the flag over its alias when both are given", () => {
    expect(parseFlags(["--listen-address", ":9000", "--listen", ":9001"], OPTIONS).listen).toBe(":9001");
  });

  it("refuses an unknown flag, naming it and pointing at the command's --help", () => {
    const err = refusal(["--nope"]);
    expect(err.flag).toBe("--nope");
    expect(err.message).toContain("'--nope'");
    expect(err.message).toMatch(/; see keyward test --help$/);
  });

  it("refuses a string flag without a value, naming the flag", () => {
    const err = refusal(["--name"]);
    expect(err.flag).toBe("--name");
  });

  it("refuses a value given to a boolean flag", () => {
    expect(refusal(["--verbose=yes"]).flag).toBe("--verbose");
  });

  it("finds the flag in the message with the command's own pattern when given one", () => {
    const err = refusal(["--no.pe"], { ...OPTIONS, flagInMessage: /'(--?[\w-]+)/ });
    expect(err.flag).toBe("--no");
    expect(refusal(["--no.pe"]).flag).toBe("--no.pe");
  });

  it("refuses a positional argument, naming it", () => {
    const err = refusal(["--verbose", "extra"]);
    expect(err.flag).toBe("extra");
    expect(err.message).toBe('unexpected argument "extra": keyward test takes only flags; see keyward test --help');
  });

  it("refuses an alias of a flag the table does not have", () => {
    expect(() => parseFlags([], { ...OPTIONS, aliases: { old: "missing" } })).toThrow("alias --old names no flag: --missing");
  });

  it("never throws anything but the command's error for any argv", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom("--name", "--verbose", "--tag", "--listen-address", "-x", "--", "=", "a"), fc.string())), (argv) => {
        try {
          parseFlags(argv, OPTIONS);
        } catch (err) {
          expect(err).toBeInstanceOf(TestFlagError);
        }
      }),
    );
  });
});

describe("flagValue", () => {
  it("takes the flag over the environment and the environment over the default", () => {
    const env = { T_LISTEN: ":7000", T_NAME: "from-env" };
    expect(flagValue(FLAGS, { listen: ":6000" }, env, "listen")).toBe(":6000");
    expect(flagValue(FLAGS, {}, env, "listen")).toBe(":7000");
    expect(flagValue(FLAGS, {}, {}, "listen")).toBe("0.0.0.0:8080");
    expect(flagValue(FLAGS, {}, env, "name")).toBe("from-env");
  });

  it("ignores an empty environment variable", () => {
    expect(flagValue(FLAGS, {}, { T_LISTEN: "" }, "listen")).toBe("0.0.0.0:8080");
    expect(flagValue(FLAGS, {}, { T_NAME: "" }, "name")).toBeUndefined();
  });

  it("gives \"true\" for a boolean flag given and the variable's text otherwise", () => {
    expect(flagValue(FLAGS, { verbose: true }, { T_VERBOSE: "false" }, "verbose")).toBe("true");
    expect(flagValue(FLAGS, {}, { T_VERBOSE: "0" }, "verbose")).toBe("0");
    expect(flagValue(FLAGS, {}, {}, "verbose")).toBeUndefined();
  });

  it("reads what parseFlags returned", () => {
    const values = parseFlags(["--listen-address", "127.0.0.1:1"], OPTIONS);
    expect(flagValue(FLAGS, values, { T_LISTEN: ":2" }, "listen")).toBe("127.0.0.1:1");
  });
});

describe("flagSpec", () => {
  it("finds a flag of the table by name", () => {
    expect(flagSpec(FLAGS, "name").env).toBe("T_NAME");
  });

  it("throws for a name the table does not have", () => {
    expect(() => flagSpec(FLAGS, "missing")).toThrow("no flag --missing");
  });
});

describe("renderFlagHelp", () => {
  it("lists the intro, then every flag with its placeholder, default and variable, then --help", () => {
    expect(renderFlagHelp(["Usage: keyward test [flags]", ""], FLAGS)).toBe(
      [
        "Usage: keyward test [flags]",
        "",
        "Flags (environment variable in brackets):",
        "  --listen HOST:PORT",
        "        where to listen (default 0.0.0.0:8080) [T_LISTEN]",
        "  --name NAME",
        "        a name [T_NAME]",
        "  --prefix PREFIX",
        "        a prefix [T_PREFIX]",
        "  --tag TAG",
        "        a tag, repeatable [T_TAGS]",
        "  --verbose",
        "        say more [T_VERBOSE]",
        "  --help",
        "        this text",
        "",
      ].join("\n"),
    );
  });
});

describe("parseFlags, for commands with short names and flags without a variable", () => {
  const flags: readonly FlagSpec[] = [
    { name: "namespace", short: "n", kind: "string", help: "the namespace" },
    { name: "keep", kind: "boolean", help: "keep it" },
  ];
  const kinds: string[] = [];
  const opts: ParseFlagsOptions = {
    command: "demo",
    flags,
    error: (flag, message, kind) => {
      kinds.push(`${kind} ${flag}`);
      return new Error(message);
    },
  };

  it("reads a short name as its flag, and a flag without a variable from argv and its default only", () => {
    expect(parseFlags(["-n", "acme"], opts)).toMatchObject({ namespace: "acme" });
    expect(flagValue(flags, {}, { namespace: "from-env" }, "namespace")).toBeUndefined();
    expect(renderFlagHelp([], flags)).toContain("        the namespace\n");
  });

  it("tells the error what is wrong: an unknown flag, a missing value, a value on a switch, an argument that is no flag", () => {
    kinds.length = 0;
    for (const argv of [["--frobnicate"], ["--namespace"], ["--keep=yes"], ["stray"]]) expect(() => parseFlags(argv, opts)).toThrow();
    expect(kinds).toEqual(["unknown --frobnicate", "missing-value --namespace", "unexpected-value --keep", "positional stray"]);
  });
});
