// hack/dev demo (npm run demo): runs keyward for real and shows it working. See docs/demo.md.
//
// Exit status: 0 when every step passed, 1 when one failed, 2 for a bad command line, 130 when
// interrupted. Ctrl-C stops the demo and cleans up; a second Ctrl-C kills everything at once.

import { DEMO_USAGE, DemoUsageError, parseDemoArgs } from "./args.ts";
import { runDemo } from "./run.ts";

export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;

export async function main(argv: readonly string[]): Promise<number> {
  let invocation;
  try {
    invocation = parseDemoArgs(argv, { env: process.env });
  } catch (error) {
    if (error instanceof DemoUsageError) {
      process.stderr.write(`keyward demo: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  if (invocation.kind === "help") {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  const { options } = invocation;

  const abort = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) {
      process.stdout.write(`\n${signal}: stopping and cleaning up (again to kill everything at once)\n`);
      abort.abort();
      return;
    }
    // process.on("exit") handlers SIGKILL the child processes; the watchdogs remove the files.
    process.exit(EXIT_INTERRUPTED);
  };
  const signalNames: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signalNames) process.on(s, onSignal);
  try {
    const result = await runDemo(options, {
      write: (text) => process.stdout.write(text),
      color: options.color === "auto" ? process.stdout.isTTY : options.color,
      signal: abort.signal,
    });
    if (result.interrupted) return EXIT_INTERRUPTED;
    return result.ok ? 0 : EXIT_FAILED;
  } finally {
    for (const s of signalNames) process.off(s, onSignal);
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
