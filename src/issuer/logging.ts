// The token service's logger: the controller's redaction plus the fields the
// token service could ever hold (access_token, client_secret). Code logs names,
// jtis, kids and codes only; redaction is the second guard.

import { pino, type DestinationStream, type LevelWithSilent, type Logger } from "pino";
import { REDACTED_PATHS } from "../controller/runtime/logging.ts";

export const TOKEN_SERVICE_REDACTED_PATHS = [
  ...REDACTED_PATHS,
  "access_token",
  "client_secret",
  "*.access_token",
  "*.client_secret",
  "*.headers.cookie",
];

export function createTokenServiceLogger(opts: { level?: LevelWithSilent; destination?: DestinationStream } = {}): Logger {
  const options = {
    level: opts.level ?? "info",
    base: { component: "keyward-token-service" },
    redact: { paths: TOKEN_SERVICE_REDACTED_PATHS, censor: "[redacted]" },
  };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}
