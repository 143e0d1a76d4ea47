// The flag machinery of keyward's commands: a table of flags, each with an
// environment variable, read from argv (a flag wins over its variable, a variable
// over the default) and rendered as --help. What the values mean, and the errors
// that refuse them, belong to each command.

import { parseArgs } from "node:util";

export type FlagKind = "string" | "boolean";

/** One flag of a command, in the order --help lists them. */
export interface FlagSpec {
  /** Without dashes: "issuer" for --issuer. */
  name: string;
  /** The environment variable read when the flag is absent; none when undefined. */
  env?: string;
  /** A one-letter alias ("n" for -n). */
  short?: string;
  kind: FlagKind;
  /** The placeholder of the value in --help ("PATH"). */
  arg?: string;
  default?: string;
  /** The flag may be repeated; its values come as an array. */
  multiple?: boolean;
  help: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export type FlagValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ParseFlagsOptions {
  /** The command, in messages: "verifier" for `keyward verifier`. */
  command: string;
  flags: readonly FlagSpec[];
  /** Other names of flags: alias → the name in `flags`. Used only when the flag itself is absent. */
  aliases?: Readonly<Record<string, string>>;
  /** Finds the flag in a message of node:util parseArgs; group 1 is the flag. */
  flagInMessage?: RegExp;
  /** The error thrown for bad input: `flag` names it ("--issuer", or "arguments"); `kind` says what is wrong. */
  error: (flag: string, message: string, kind: FlagErrorKind) => Error;
}

/** What is wrong with a command line: a flag not in the table, a value missing or given to a switch, an argument that is no flag. */
export type FlagErrorKind = "unknown" | "missing-value" | "unexpected-value" | "positional" | "other";

function errorKind(err: Error & { code?: string }): FlagErrorKind {
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return "unknown";
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") return err.message.includes("does not take an argument") ? "unexpected-value" : "missing-value";
  return "other";
}

/** The flag in a message of parseArgs: "Option '-n, --namespace <value>' argument missing" names --namespace. */
const FLAG_IN_MESSAGE = /'(?:-[^-' ], )?(-[^' ]+)/;

/**
 * Reads `argv` against the table: only flags, no positional arguments. Returns the
 * flags given (strings, `true`, or arrays for repeatable flags), aliases resolved.
 */
export function parseFlags(argv: readonly string[], opts: ParseFlagsOptions): FlagValues {
  const aliases = opts.aliases ?? {};
  const options: Record<string, { type: FlagKind; multiple?: boolean; short?: string }> = {};
  for (const f of opts.flags) options[f.name] = { type: f.kind, ...(f.multiple === true ? { multiple: true } : {}), ...(f.short === undefined ? {} : { short: f.short }) };
  for (const [alias, target] of Object.entries(aliases)) {
    const spec = options[target];
    if (spec === undefined) throw new Error(`alias --${alias} names no flag: --${target}`);
    options[alias] = { type: spec.type };
  }
  let values: FlagValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true }));
  } catch (err) {
    const message = (err as Error).message;
    const flag = (opts.flagInMessage ?? FLAG_IN_MESSAGE).exec(message)?.[1] ?? "arguments";
    throw opts.error(flag, `${message}; see keyward ${opts.command} --help`, errorKind(err as Error));
  }
  const first = positionals[0];
  if (first !== undefined) {
    throw opts.error(first, `unexpected argument "${first}": keyward ${opts.command} takes only flags; see keyward ${opts.command} --help`, "positional");
  }
  for (const [alias, target] of Object.entries(aliases)) {
    if (values[alias] !== undefined && values[target] === undefined) values[target] = values[alias];
  }
  return values;
}

/** The flag `name` of the table; throws if the table has none (a mistake in the command, not in its input). */
export function flagSpec(flags: readonly FlagSpec[], name: string): FlagSpec {
  const spec = flags.find((f) => f.name === name);
  if (spec === undefined) throw new Error(`no flag --${name}`);
  return spec;
}

/** The flag's environment variable as set (undefined when it has none, or it is not set). */
export function envValue(spec: FlagSpec, env: Env): string | undefined {
  return spec.env === undefined ? undefined : env[spec.env];
}

/**
 * The value of a single flag: as given ("true" for a boolean flag given), else its
 * environment variable when set and not empty, else its default (undefined if none).
 */
export function flagValue(flags: readonly FlagSpec[], values: FlagValues, env: Env, name: string): string | undefined {
  const spec = flagSpec(flags, name);
  const v = values[name];
  if (typeof v === "string") return v;
  if (v === true) return "true";
  const fromEnv = envValue(spec, env);
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  return spec.default;
}

/** --help: the lines of `intro`, then every flag with its default and variable, then --help itself. */
export function renderFlagHelp(intro: readonly string[], flags: readonly FlagSpec[]): string {
  const lines = [...intro, "Flags (environment variable in brackets):"];
  for (const f of flags) {
    const head = `  --${f.name}${f.arg === undefined ? "" : ` ${f.arg}`}`;
    const def = f.default === undefined || f.default === "" ? "" : ` (default ${f.default})`;
    lines.push(head, `        ${f.help}${def}${f.env === undefined ? "" : ` [${f.env}]`}`);
  }
  lines.push("  --help", "        this text", "");
  return lines.join("\n");
}
