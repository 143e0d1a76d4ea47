// What `kubectl keyward` gets from the outside world, so tests can run it in-process with their
// own streams, environment and clock.

export interface PluginIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Read by `inject -f -`. Default process.stdin. */
  stdin?: NodeJS.ReadableStream;
  /** The clock (milliseconds since the epoch). Default Date.now. */
  now?: () => number;
}

export function processIO(): PluginIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Exit code of a command that failed (not found, forbidden, refused by the API server). */
export const EXIT_FAILURE = 1;
/** Exit code of a usage error: an unknown command or flag, a missing or malformed argument. */
export const EXIT_USAGE = 2;
