// The logging surface the runtime needs; a pino Logger satisfies it. Nothing here
// ever logs an object's data, a token or a key: only names, codes and messages.

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = (): void => undefined;

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** A loggable summary of an error: its code and message, never the objects it carries. */
export function errorFields(err: unknown): { code?: string; message: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" ? { code, message: err.message } : { message: err.message };
  }
  return { message: String(err) };
}
