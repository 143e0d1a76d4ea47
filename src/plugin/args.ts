// The command line of `kubectl keyward`: a subcommand, its object, and flags anywhere
// (kubectl style). Everything is checked here, so a bad command line changes nothing.

import { parseArgs } from "node:util";
import { parseRfc3339 } from "../token/index.ts";
import { UsageError } from "./errors.ts";

export const COMMAND_NAMES = ["rotate", "revoke", "revoke-token", "token", "status", "inject"] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export interface CommonOptions {
  /** -n/--namespace; undefined: the kubeconfig context's namespace, else "default". */
  namespace: string | undefined;
  kubeconfig: string | undefined;
  context: string | undefined;
  /** --dry-run: the API server checks the change (dryRun=All) and stores nothing. */
  dryRun: boolean;
}

export type RevokeAction =
  | { kind: "deposed"; value: string | undefined }
  | { kind: "all"; value: string | undefined }
  | { kind: "before"; time: string };

export type Invocation =
  | { command: "help"; topic: CommandName | undefined }
  | { command: "rotate"; apiKey: string; value: string | undefined; common: CommonOptions }
  | { command: "revoke"; apiKey: string; action: RevokeAction; common: CommonOptions }
  | { command: "revoke-token"; accessToken: string; common: CommonOptions }
  | { command: "token"; accessToken: string; common: CommonOptions }
  | { command: "status"; allNamespaces: boolean; common: CommonOptions }
  | { command: "inject"; filename: string; image: string | undefined; common: CommonOptions };

interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
}

const COMMON_FLAGS: Record<string, FlagSpec> = {
  namespace: { type: "string", short: "n" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
  help: { type: "boolean", short: "h" },
};

/** The flags each command takes besides the common ones. */
const COMMAND_FLAGS: Record<CommandName, Record<string, FlagSpec>> = {
  rotate: { value: { type: "string" }, "dry-run": { type: "boolean" } },
  revoke: { deposed: { type: "boolean" }, all: { type: "boolean" }, before: { type: "string" }, value: { type: "string" }, "dry-run": { type: "boolean" } },
  "revoke-token": { "dry-run": { type: "boolean" } },
  token: {},
  status: { "all-namespaces": { type: "boolean", short: "A" } },
  inject: { filename: { type: "string", short: "f" }, image: { type: "string" } },
};

/** The object each command names, for messages. */
const OBJECT_OF: Record<CommandName, string | null> = {
  rotate: "APIKEY",
  revoke: "APIKEY",
  "revoke-token": "ACCESSTOKEN",
  token: "ACCESSTOKEN",
  status: null,
  inject: null,
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isCommandName(word: string): word is CommandName {
  return (COMMAND_NAMES as readonly string[]).includes(word);
}

/** Reads argv (the words after `kubectl keyward`). Throws UsageError naming what is wrong. */
export function parseInvocation(argv: readonly string[]): Invocation {
  const first = argv[0];
  if (first === undefined) throw new UsageError("a command is required: rotate, revoke, revoke-token, token or status");
  if (first === "help" || first === "--help" || first === "-h") {
    const topic = argv[1];
    if (topic !== undefined && !isCommandName(topic)) throw new UsageError(`unknown command "${topic}": kubectl keyward has ${COMMAND_NAMES.join(", ")}`);
    return { command: "help", topic };
  }
  if (!isCommandName(first)) {
    const hint = first.startsWith("-") ? "put the command first, e.g. kubectl keyward status -n acme" : `kubectl keyward has ${COMMAND_NAMES.join(", ")}`;
    throw new UsageError(`unknown command "${first}": ${hint}`);
  }
  const command = first;
  const options = { ...COMMON_FLAGS, ...COMMAND_FLAGS[command] };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv.slice(1), options, strict: true, allowPositionals: true }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message.replace(/\. To specify.*$/s, "")}; see kubectl keyward ${command} --help`);
  }
  if (values.help === true) return { command: "help", topic: command };

  const str = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === "string" ? v : undefined;
  };
  const common: CommonOptions = {
    namespace: str("namespace"),
    kubeconfig: str("kubeconfig"),
    context: str("context"),
    dryRun: values["dry-run"] === true,
  };
  if (common.namespace !== undefined && !DNS_LABEL.test(common.namespace)) {
    throw new UsageError(`-n/--namespace "${common.namespace}" is not a namespace name (lower-case letters, digits and "-")`);
  }
  for (const flag of ["kubeconfig", "context"] as const) {
    if (common[flag] === "") throw new UsageError(`--${flag} needs a value`);
  }

  const object = OBJECT_OF[command];
  if (object === null) {
    if (positionals.length > 0) throw new UsageError(`kubectl keyward ${command} takes no argument, got "${positionals[0]!}"`);
  } else {
    if (positionals.length === 0) throw new UsageError(`kubectl keyward ${command} needs the ${object}: kubectl keyward ${command} ${object}`);
    if (positionals.length > 1) throw new UsageError(`kubectl keyward ${command} takes one ${object}, got ${positionals.length}: ${positionals.join(" ")}`);
  }
  const name = positionals[0] ?? "";

  switch (command) {
    case "rotate":
      return { command, apiKey: apiKeyName(name), value: requestValue(str("value")), common };
    case "revoke":
      return { command, apiKey: apiKeyName(name), action: revokeAction(values), common };
    case "revoke-token":
      return { command, accessToken: objectName(name, "ACCESSTOKEN"), common };
    case "token":
      return { command, accessToken: objectName(name, "ACCESSTOKEN"), common };
    case "status": {
      const allNamespaces = values["all-namespaces"] === true;
      if (allNamespaces && common.namespace !== undefined) throw new UsageError("-A/--all-namespaces and -n/--namespace exclude each other");
      return { command, allNamespaces, common };
    }
    case "inject": {
      const filename = str("filename");
      if (filename === undefined || filename === "") throw new UsageError("kubectl keyward inject needs the manifests: -f FILE (or -f - for stdin)");
      const image = str("image");
      if (image !== undefined && (image === "" || /\s/.test(image))) throw new UsageError(`--image "${image}" is not an image reference such as ghcr.io/keyward/keyward:0.1.0`);
      return { command, filename, image, common };
    }
  }
}

function revokeAction(values: Record<string, string | boolean | undefined>): RevokeAction {
  const chosen = ["deposed", "all", "before"].filter((f) => values[f] !== undefined && values[f] !== false);
  if (chosen.length !== 1) {
    throw new UsageError(
      `kubectl keyward revoke needs exactly one of --deposed (tokens issued before the last rotation), --all (every token) and --before TIME${chosen.length > 1 ? `, got ${chosen.map((f) => `--${f}`).join(" and ")}` : ""}`,
    );
  }
  const value = typeof values.value === "string" ? values.value : undefined;
  if (chosen[0] === "before") {
    if (value !== undefined) throw new UsageError("--value goes with --deposed or --all; --before takes its time as the value");
    const time = values.before as string;
    if (time !== "now" && parseRfc3339(time) === null) {
      throw new UsageError(`--before "${time}" is not an RFC 3339 time such as 2026-11-29T12:00:00Z (or "now")`);
    }
    return { kind: "before", time };
  }
  return { kind: chosen[0] === "deposed" ? "deposed" : "all", value: requestValue(value) };
}

function apiKeyName(name: string): string {
  objectName(name, "APIKEY");
  if (name.length > 63) throw new UsageError(`APIKEY "${name}" is longer than 63 characters, the limit of an ApiKey name`);
  return name;
}

function objectName(name: string, what: string): string {
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw new UsageError(`${what} "${name}" is not an object name (lower-case letters, digits, "-" and ".")`);
  }
  return name;
}

/** A request field value given with --value: 1 to 63 characters, as the CRD requires. */
function requestValue(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < 1 || value.length > 63) throw new UsageError(`--value must be 1 to 63 characters (a date or a ticket number reads well), got ${value.length}`);
  return value;
}
