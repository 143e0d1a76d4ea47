// What every command gets: the streams, the clock, and a way to reach the cluster.

import type { CommonOptions } from "../args.ts";
import type { Connection } from "../connect.ts";
import type { PluginIO } from "../io.ts";

export interface CommandContext {
  io: PluginIO;
  now: () => number;
  connect: (common: CommonOptions) => Connection;
}

/** A line on stderr that starts with "Warning:", as kubectl prints server warnings. */
export function warn(ctx: CommandContext, message: string): void {
  ctx.io.stderr.write(`Warning: ${message}\n`);
}

/** " (server dry run)" when nothing was stored. */
export function dryRunSuffix(common: CommonOptions): string {
  return common.dryRun ? " (server dry run)" : "";
}
