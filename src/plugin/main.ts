// kubectl keyward: the command line of keyward's day-2 operations.

import { parseInvocation, type Invocation } from "./args.ts";
import { runInject } from "./commands/inject.ts";
import { runRevokeToken } from "./commands/revoke-token.ts";
import { runRevoke } from "./commands/revoke.ts";
import { runRotate } from "./commands/rotate.ts";
import { runStatus } from "./commands/status.ts";
import { runToken } from "./commands/token.ts";
import type { CommandContext } from "./commands/context.ts";
import { connect } from "./connect.ts";
import { PluginError } from "./errors.ts";
import { commandHelp, overviewHelp } from "./help.ts";
import { EXIT_FAILURE, EXIT_USAGE, processIO, type PluginIO } from "./io.ts";

/** Runs `kubectl keyward` with `argv` (the words after it); resolves to the exit code. */
export async function main(argv: readonly string[], io: PluginIO = processIO()): Promise<number> {
  let inv: Invocation;
  try {
    inv = parseInvocation(argv);
  } catch (err) {
    if (err instanceof PluginError) {
      io.stderr.write(`error: ${err.message}\n`);
      if (argv.length === 0) io.stderr.write(`\n${overviewHelp()}`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (inv.command === "help") {
    io.stdout.write(inv.topic === undefined ? overviewHelp() : commandHelp(inv.topic));
    return 0;
  }
  const ctx: CommandContext = {
    io,
    now: io.now ?? Date.now,
    connect: (common) => connect(common, io.env),
  };
  try {
    switch (inv.command) {
      case "rotate":
        return await runRotate(inv, ctx);
      case "revoke":
        return await runRevoke(inv, ctx);
      case "revoke-token":
        return await runRevokeToken(inv, ctx);
      case "token":
        return await runToken(inv, ctx);
      case "status":
        return await runStatus(inv, ctx);
      case "inject":
        return await runInject(inv, ctx);
    }
  } catch (err) {
    if (err instanceof PluginError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.code === "ERR_PLUGIN_USAGE" ? EXIT_USAGE : EXIT_FAILURE;
    }
    io.stderr.write(`error: unexpected failure: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}

// `node src/plugin/main.ts …` in a checkout, without building.
if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
