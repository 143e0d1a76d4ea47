// Validates the spec of a RotationPolicy or ClusterRotationPolicy and applies its
// defaults. The CRD schema checks most of this at admission; the controller checks
// again because objects may predate the schema, and a policy it cannot use must
// say which field is wrong and how to fix it rather than rotate on a guess.

import { CronExpressionParser } from "cron-parser";
import { ALGORITHMS, type Algorithm } from "../../token/index.ts";
import { formatDuration, parseDuration as parseApiDuration } from "../../api/duration.ts";
import type { PolicyProblem, PolicySource, ResolvedRotationPolicy, RotationPolicySpecInput, Schedule } from "./types.ts";

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** The defaults of the CRD schema, and the schedule of the built-in policy. */
export const POLICY_DEFAULTS = {
  algorithm: "EdDSA" as Algorithm,
  timeZone: "UTC",
  prePublish: "5m",
  grace: "720h",
  defaultTokenLifetime: "24h",
  maxTokenLifetime: "720h",
  allowNeverExpires: false,
  /** Used only when no ClusterRotationPolicy named `default` exists: 30 days, as the sample `default`. */
  builtInEvery: "720h",
} as const;

/** The shortest interval `schedule.every` accepts. */
export const MIN_EVERY_MS = HOUR_MS;
/** The shortest token lifetimes a policy accepts. */
export const MIN_TOKEN_LIFETIME_MS = MINUTE_MS;

export type CompileResult =
  | { ok: true; policy: ResolvedRotationPolicy }
  | { ok: false; problems: PolicyProblem[] };

const DURATION_HINT = 'write hours, minutes and seconds such as "720h", "1h30m" or "90s"';

/** Milliseconds in a CRD duration, or null when `text` is not one. */
function durationMsOrNull(text: string): number | null {
  try {
    return parseApiDuration(text);
  } catch {
    return null;
  }
}

const compiledCache = new WeakMap<RotationPolicySpecInput, Map<string, CompileResult>>();

/**
 * Validates `spec` and returns the policy with defaults applied, or every problem
 * found. Remembered per spec object (the controller's caches hand out the same
 * object until the policy changes), so a reconcile does not parse the same
 * schedule again; callers must not mutate a spec they have compiled.
 */
export function compileRotationPolicy(source: PolicySource, spec: RotationPolicySpecInput): CompileResult {
  let bySource = compiledCache.get(spec);
  if (bySource === undefined) compiledCache.set(spec, (bySource = new Map<string, CompileResult>()));
  const id = JSON.stringify([source.kind, source.name, "namespace" in source ? (source.namespace ?? "") : ""]);
  let result = bySource.get(id);
  if (result === undefined) bySource.set(id, (result = compileUncached(source, spec)));
  return result;
}

function compileUncached(source: PolicySource, spec: RotationPolicySpecInput): CompileResult {
  const problems: PolicyProblem[] = [];
  const problem = (field: string, message: string): void => {
    problems.push({ field, message });
  };

  const duration = (field: string, value: string | undefined, fallback: string): number => {
    const text = value ?? fallback;
    const ms = durationMsOrNull(text);
    if (ms === null) {
      problem(field, `"${text}" is not a duration: ${DURATION_HINT}`);
      return Number.NaN;
    }
    return ms;
  };

  let algorithm: Algorithm = POLICY_DEFAULTS.algorithm;
  if (spec.algorithm !== undefined) {
    const found = ALGORITHMS.find((a) => a === spec.algorithm);
    if (found === undefined) {
      problem("spec.algorithm", `"${spec.algorithm}" is not supported: use one of ${ALGORITHMS.join(", ")}`);
    } else {
      algorithm = found;
    }
  }

  const prePublishMs = duration("spec.prePublish", spec.prePublish, POLICY_DEFAULTS.prePublish);
  const graceMs = duration("spec.grace", spec.grace, POLICY_DEFAULTS.grace);
  const defaultTokenLifetimeMs = duration(
    "spec.defaultTokenLifetime",
    spec.defaultTokenLifetime,
    POLICY_DEFAULTS.defaultTokenLifetime,
  );
  const maxTokenLifetimeMs = duration("spec.maxTokenLifetime", spec.maxTokenLifetime, POLICY_DEFAULTS.maxTokenLifetime);

  if (defaultTokenLifetimeMs < MIN_TOKEN_LIFETIME_MS) {
    problem("spec.defaultTokenLifetime", `${spec.defaultTokenLifetime ?? ""} is shorter than 1m: raise it to at least 1m`);
  }
  if (maxTokenLifetimeMs < MIN_TOKEN_LIFETIME_MS) {
    problem("spec.maxTokenLifetime", `${spec.maxTokenLifetime ?? ""} is shorter than 1m: raise it to at least 1m`);
  }
  if (defaultTokenLifetimeMs > maxTokenLifetimeMs) {
    problem(
      "spec.defaultTokenLifetime",
      `${spec.defaultTokenLifetime ?? POLICY_DEFAULTS.defaultTokenLifetime} exceeds spec.maxTokenLifetime (${spec.maxTokenLifetime ?? POLICY_DEFAULTS.maxTokenLifetime}): shorten the default or raise the maximum`,
    );
  }

  const schedule = compileSchedule(spec.schedule, source, prePublishMs, problem);

  if (problems.length > 0 || schedule === null) return { ok: false, problems };
  return {
    ok: true,
    policy: {
      source,
      algorithm,
      schedule,
      prePublishMs,
      graceMs,
      defaultTokenLifetimeMs,
      maxTokenLifetimeMs,
      allowNeverExpires: spec.allowNeverExpires ?? POLICY_DEFAULTS.allowNeverExpires,
    },
  };
}

function compileSchedule(
  schedule: RotationPolicySpecInput["schedule"],
  source: PolicySource,
  prePublishMs: number,
  problem: (field: string, message: string) => void,
): Schedule | null {
  const every = schedule?.every;
  const cron = schedule?.cron;
  if (every === undefined && cron === undefined) {
    if (source.kind === "BuiltIn") return compileEvery(POLICY_DEFAULTS.builtInEvery, prePublishMs, problem);
    problem("spec.schedule", 'set exactly one of every (an interval such as "720h") or cron (such as "0 3 1 * *")');
    return null;
  }
  if (every !== undefined && cron !== undefined) {
    problem("spec.schedule", "set exactly one of every and cron, not both: remove one of them");
    return null;
  }
  if (every !== undefined) return compileEvery(every, prePublishMs, problem);
  const compiled = compileCron(cron ?? "", schedule?.timeZone ?? POLICY_DEFAULTS.timeZone, problem);
  if (compiled === null || compiled.kind !== "cron" || !Number.isFinite(prePublishMs)) return compiled;
  const gap = shortestCronGap(compiled.expression, compiled.timeZone);
  if (gap !== null && prePublishMs >= gap) {
    problem(
      "spec.prePublish",
      `must be shorter than the shortest interval between two times of spec.schedule.cron ("${compiled.expression}" in ${compiled.timeZone}: ` +
        `${formatDuration(gap)}), or a new key would be rotated out before it ever signs: shorten prePublish or rotate less often`,
    );
    return null;
  }
  return compiled;
}

/** shortestCronGap looks at this many consecutive cron times at most, within CRON_SAMPLE_SPAN_MS of a fixed date. */
const CRON_SAMPLE = 400;
const CRON_SAMPLE_START = Date.UTC(2026, 0, 1);
const CRON_SAMPLE_SPAN_MS = 2 * 366 * 24 * HOUR_MS;
const gapCache = new Map<string, number | null>();
const GAP_CACHE_SIZE = 256;

/**
 * The shortest time between two consecutive times of a cron expression, over its
 * times in the two years from a fixed date (at most CRON_SAMPLE of them, which
 * covers a year of daily rotations and every daylight-saving transition in it);
 * null if it names fewer than two times. Remembered per expression and zone.
 */
export function shortestCronGap(expression: string, timeZone: string): number | null {
  const id = `${timeZone} ${expression}`;
  const known = gapCache.get(id);
  if (known !== undefined || gapCache.has(id)) return known ?? null;
  const times = CronExpressionParser.parse(expression, { tz: timeZone, currentDate: new Date(CRON_SAMPLE_START) });
  let previous: number | null = null;
  let shortest: number | null = null;
  for (let i = 0; i < CRON_SAMPLE && times.hasNext(); i++) {
    const at = times.next().getTime();
    if (at > CRON_SAMPLE_START + CRON_SAMPLE_SPAN_MS) break;
    if (previous !== null && (shortest === null || at - previous < shortest)) shortest = at - previous;
    previous = at;
  }
  if (gapCache.size >= GAP_CACHE_SIZE) gapCache.delete(gapCache.keys().next().value ?? "");
  gapCache.set(id, shortest);
  return shortest;
}

function compileEvery(text: string, prePublishMs: number, problem: (field: string, message: string) => void): Schedule | null {
  const everyMs = durationMsOrNull(text);
  if (everyMs === null) {
    problem("spec.schedule.every", `"${text}" is not a duration: ${DURATION_HINT}`);
    return null;
  }
  if (everyMs < MIN_EVERY_MS) {
    problem("spec.schedule.every", `${text} is shorter than 1h: rotating more often breaks tokens before they are redistributed; use at least 1h`);
    return null;
  }
  if (Number.isFinite(prePublishMs) && prePublishMs >= everyMs) {
    problem(
      "spec.prePublish",
      `must be shorter than spec.schedule.every (${text}), or a new key would be rotated out before it ever signs: shorten prePublish`,
    );
    return null;
  }
  return { kind: "every", everyMs };
}

const CRON_FIELD = /^[0-9A-Za-z*/,?#-]+$/;
const CRON_MINUTE = /^[0-5]?[0-9]$/;

function compileCron(expression: string, timeZone: string, problem: (field: string, message: string) => void): Schedule | null {
  const fields = expression.split(" ");
  if (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f))) {
    problem(
      "spec.schedule.cron",
      `"${expression}" must have 5 fields separated by single spaces: minute hour day-of-month month day-of-week, e.g. "0 3 1 * *"`,
    );
    return null;
  }
  if (!CRON_MINUTE.test(fields[0] ?? "")) {
    problem(
      "spec.schedule.cron",
      `"${expression}": the minute field must be one number from 0 to 59, so that keys rotate at most hourly`,
    );
    return null;
  }
  if (!isTimeZone(timeZone)) {
    problem(
      "spec.schedule.timeZone",
      `"${timeZone}" is not an IANA time zone: use a name such as "UTC", "Europe/Berlin" or "America/New_York"`,
    );
    return null;
  }
  try {
    const parsed = CronExpressionParser.parse(expression, { tz: timeZone, currentDate: new Date(0) });
    parsed.next();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    problem("spec.schedule.cron", `"${expression}" is not a valid cron expression (${reason}): fix the expression, e.g. "0 3 1 * *"`);
    return null;
  }
  return { kind: "cron", expression, timeZone };
}

/** Whether the runtime knows `name` as an IANA time zone. */
export function isTimeZone(name: string): boolean {
  if (name.length === 0) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
