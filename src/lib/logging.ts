// The one logger factory of keyward's processes: JSON lines (pino) naming the
// component, with redaction as a second guard. Code logs names, keys, jtis, kids
// and codes, never an object's data, a private key or a token; should one slip
// into a logged object, the paths each component lists are censored.

import { pino, type DestinationStream, type LevelWithSilent, type Logger } from "pino";

export type { Logger } from "pino";

/** What a controller-side process (the controller, the token service) censors: Secret data, private keys, tokens. */
export const SECRET_PATHS: readonly string[] = [
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
  /** Named in every line: keyward-controller, keyward-token-service, keyward-verifier. */
  component: string;
  /** The fields to censor (pino redaction paths). */
  redact: readonly string[];
  level?: LevelWithSilent;
  /** Default stdout. */
  destination?: DestinationStream | undefined;
}

export function createComponentLogger(opts: CreateLoggerOptions): Logger {
  const options = {
    level: opts.level ?? "info",
    base: { component: opts.component },
    redact: { paths: [...opts.redact], censor: "[redacted]" },
  };
  return opts.destination === undefined ? pino(options) : pino(options, opts.destination);
}
