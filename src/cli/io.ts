// What a command of the keyward CLI gets from the outside world, so tests can run one
// in-process with their own streams, environment, clock and stop signal.

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** The clock. Default Date.now. */
  now?: () => number;
  /**
   * Stops a long-running command (verifier, controller) gracefully when aborted.
   * Default: SIGTERM or SIGINT.
   */
  stopSignal?: AbortSignal;
}

export interface Command {
  /** The words that select the command: "verifier", "token verify". */
  name: string;
  /** One line for `keyward --help`. */
  summary: string;
  /** Runs with the arguments after the command's words; resolves to the exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** Exit code of a usage error: an unknown command, a bad flag. */
export const EXIT_USAGE = 2;

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}
