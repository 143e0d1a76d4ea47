// The token service's logger: the controller's redaction plus the fields the
// token service could ever hold (access_token, client_secret). Code logs names,
// jtis, kids and codes only; redaction is the second guard.

import type { DestinationStream, LevelWithSilent } from "pino";
import { createComponentLogger, SECRET_PATHS, type Logger } from "../lib/logging.ts";

export const TOKEN_SERVICE_REDACTED_PATHS = [
  ...SECRET_PATHS,
  "access_token",
  "client_secret",
  "*.access_token",
  "*.client_secret",
  "*.headers.cookie",
];

export function createTokenServiceLogger(opts: { level?: LevelWithSilent; destination?: DestinationStream } = {}): Logger {
  return createComponentLogger({ component: "keyward-token-service", redact: TOKEN_SERVICE_REDACTED_PATHS, level: opts.level, destination: opts.destination });
}
