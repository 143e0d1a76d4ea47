// The keyward command. Subcommands are a table: a new one is one entry in COMMANDS.

import { CONTROLLER_COMMAND_SUMMARY, runControllerCommand } from "./controller/command.ts";
import { tokenVerifyCommand } from "./token-verify.ts";
import { EXIT_USAGE, processIO, type CliIO, type Command } from "./io.ts";
import { verifierCommand } from "./verifier.ts";

export type { CliIO, Command } from "./io.ts";

export const COMMANDS: readonly Command[] = [
  { name: "controller", summary: CONTROLLER_COMMAND_SUMMARY, run: runControllerCommand },
  verifierCommand,
  tokenVerifyCommand,
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
  return found.command.run(found.rest, io);
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
