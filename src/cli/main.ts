// The keyward command. Subcommands are a table: a new one is one entry in COMMANDS.
//
// A command's module is loaded when the command runs, so that a process loads the
// code of its own command only: the controller does not load the verifier's gRPC
// server, nor a verifier sidecar the controller's reconcilers. Before that, client-node
// is set to load without its generated API clients (src/kube/lean-client-node.ts).

import { loadClientNodeLean } from "../kube/lean-client-node.ts";
import { EXIT_USAGE, processIO, type CliIO, type Command } from "./io.ts";

export type { CliIO, Command } from "./io.ts";

export const COMMANDS: readonly Command[] = [
  {
    name: "controller",
    summary: "mint and rotate ApiKey signing keys, issue AccessTokens, write tenant bundles",
    run: async (args, io) => (await import("./controller/command.ts")).runControllerCommand(args, io),
  },
  {
    name: "verifier",
    summary: "check bearer tokens and access policies in front of a workload (proxy or forward-auth)",
    run: async (args, io) => (await import("./verifier.ts")).runVerifier(args, io),
  },
  {
    name: "token verify",
    summary: "explain, step by step, whether a bundle accepts an access token",
    run: async (args, io) => (await import("./token-verify.ts")).runTokenVerify(args, io),
  },
];

function usage(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "Usage: keyward <command> [flags]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run keyward <command> --help for the flags of a command.",
    "",
  ].join("\n");
}

/** The command whose words start argv, the longest such name winning. */
function find(argv: readonly string[]): { command: Command; rest: string[] } | null {
  let best: Command | null = null;
  let words = 0;
  for (const c of COMMANDS) {
    const parts = c.name.split(" ");
    if (parts.length > words && parts.every((p, i) => argv[i] === p)) {
      best = c;
      words = parts.length;
    }
  }
  return best === null ? null : { command: best, rest: argv.slice(words) };
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    (first === undefined ? io.stderr : io.stdout).write(usage(COMMANDS));
    return first === undefined ? EXIT_USAGE : 0;
  }
  const found = find(argv);
  if (found === null) {
    // "keyward token" alone: list what follows it.
    const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `));
    if (group.length > 0 && (argv.length === 1 || argv[1]!.startsWith("-"))) {
      const help = argv[1] === "--help" || argv[1] === "-h";
      (help ? io.stdout : io.stderr).write(usage(group));
      return help ? 0 : EXIT_USAGE;
    }
    const name = group.length > 0 ? `${first} ${argv[1] ?? ""}`.trim() : first;
    io.stderr.write(`keyward: unknown command "${name}"\n\n${usage(COMMANDS)}`);
    return EXIT_USAGE;
  }
  loadClientNodeLean();
  return found.command.run(found.rest, io);
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
