// `keyward verifier`: runs the verifier until SIGTERM or SIGINT, then drains.

import type { DestinationStream } from "pino";
import { ConfigError, parseVerifierArgs, verifierHelp } from "../verifier/config.ts";
import { startVerifier, type RunningVerifier } from "../verifier/index.ts";
import { aborted, stopSignalOf } from "../lib/stop.ts";
import { EXIT_USAGE, type CliIO } from "./io.ts";

export async function runVerifier(args: string[], io: CliIO): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout.write(verifierHelp());
    return 0;
  }
  let config;
  try {
    config = parseVerifierArgs(args, io.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`keyward verifier: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  const stop = stopSignalOf(io);
  let running: RunningVerifier;
  try {
    running = await startVerifier(config, {
      logDestination: io.stdout as unknown as DestinationStream,
      ...(io.now === undefined ? {} : { now: io.now }),
    });
  } catch (err) {
    stop.dispose();
    io.stderr.write(`keyward verifier: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  await aborted(stop.signal);
  stop.dispose();
  await running.drain();
  return 0;
}
