// The verifier's logger. Decision logs name the token (jti, kid, ApiKey) but never carry
// it: nothing passes a token or an Authorization header to the logger, and redaction is
// a second guard should one slip into a logged object.

import type { DestinationStream } from "pino";
import { createComponentLogger, type Logger } from "../lib/logging.ts";
import type { LogLevel } from "./config.ts";

export type { Logger } from "../lib/logging.ts";

export const REDACTED_PATHS = [
  "authorization",
  "token",
  "headers.authorization",
  "headers.cookie",
  "req.headers.authorization",
  "req.headers.cookie",
  "request.headers.authorization",
  "*.authorization",
  "*.token",
  "*.headers.authorization",
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return createComponentLogger({ component: "keyward-verifier", redact: REDACTED_PATHS, level, destination });
}
