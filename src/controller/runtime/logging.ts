// The controller's logger. The runtime logs names, keys, codes and messages only,
// never an object's data; redaction is a second guard should a Secret's data, a
// private key or a token slip into a logged object.

import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

export const REDACTED_PATHS = [
  "authorization",
  "token",
  "privateKey",
  "data",
  "stringData",
  "d",
  "*.authorization",
  "*.token",
  "*.privateKey",
  "*.data",
  "*.stringData",
  "*.d",
  "*.headers.authorization",
  "req.headers.authorization",
];

export interface CreateLoggerOptions {
  level?: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** Default stdout. */
  destination?: DestinationStream;
}

export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? "info",
    base: { component: "keyward-controller" },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}
