// The controller's logger. The runtime logs names, keys, codes and messages only,
// never an object's data; redaction is a second guard should a Secret's data, a
// private key or a token slip into a logged object.

import type { DestinationStream } from "pino";
import { createComponentLogger, SECRET_PATHS, type Logger } from "../../lib/logging.ts";

export type { Logger } from "../../lib/logging.ts";

export const REDACTED_PATHS = SECRET_PATHS;

export interface CreateLoggerOptions {
  level?: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** Default stdout. */
  destination?: DestinationStream;
}

export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  return createComponentLogger({ component: "keyward-controller", redact: REDACTED_PATHS, level: opts.level, destination: opts.destination });
}
