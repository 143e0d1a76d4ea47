// Durations as the CRDs write them: Go-style strings of hours, minutes and seconds
// ("720h", "1h30m", "90s", "1.5h"), the format of metav1.Duration and of CEL's duration().

/** The pattern every duration field of the CRDs declares. */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(h|m|s))+$/;

/** The longest duration Go and CEL represent (2^63-1 nanoseconds), in whole milliseconds. */
export const MAX_DURATION_MS = 9_223_372_036_854;

const NS_PER_UNIT = { h: 3_600_000_000_000n, m: 60_000_000_000n, s: 1_000_000_000n } as const;
const MAX_NS = 9_223_372_036_854_775_807n;
const MS_PER_HOUR = 3_600_000;
const MS_PER_MINUTE = 60_000;
const MS_PER_SECOND = 1_000;

/** A duration string or number is not acceptable; `value` is the offending input. */
export class DurationError extends Error {
  readonly code = "ERR_DURATION";
  readonly value: string;
  constructor(value: string, message: string) {
    super(message);
    this.name = "DurationError";
    this.value = value;
  }
}

/** Whether `s` is a duration parseDuration accepts. */
export function isDuration(s: string): boolean {
  try {
    parseDuration(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Parses a duration such as "720h", "1h30m" or "1.5s" into milliseconds. Fractions below a
 * millisecond are truncated, as Go truncates below a nanosecond. Throws DurationError when the
 * string does not match DURATION_PATTERN or exceeds MAX_DURATION_MS.
 */
export function parseDuration(s: string): number {
  const input: unknown = s;
  if (typeof input !== "string" || !DURATION_PATTERN.test(input)) {
    throw new DurationError(
      String(input),
      `invalid duration "${String(input)}": write hours, minutes and seconds such as "720h", "1h30m" or "90s"`,
    );
  }
  let ns = 0n;
  for (const m of s.matchAll(/([0-9]+)(?:\.([0-9]+))?(h|m|s)/g)) {
    const whole = m[1] ?? "0";
    const fraction = m[2] ?? "";
    const unit = NS_PER_UNIT[(m[3] ?? "s") as keyof typeof NS_PER_UNIT];
    ns += BigInt(whole) * unit;
    if (fraction !== "") ns += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    if (ns > MAX_NS) {
      throw new DurationError(s, `duration ${JSON.stringify(s)} is too long: the maximum is about 2562047h`);
    }
  }
  return Number(ns / 1_000_000n);
}

/**
 * Formats milliseconds as the shortest duration string of hours, minutes and seconds:
 * 2592000000 → "720h", 5400000 → "1h30m", 1500 → "1.5s", 0 → "0s".
 * parseDuration(formatDuration(ms)) === ms for every whole ms from 0 to MAX_DURATION_MS.
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_DURATION_MS) {
    throw new DurationError(
      String(ms),
      `cannot format ${String(ms)} as a duration: it must be a whole number of milliseconds from 0 to ${MAX_DURATION_MS}`,
    );
  }
  if (ms === 0) return "0s";
  const hours = Math.floor(ms / MS_PER_HOUR);
  const minutes = Math.floor((ms % MS_PER_HOUR) / MS_PER_MINUTE);
  const rest = ms % MS_PER_MINUTE;
  let out = "";
  if (hours > 0) out += `${hours}h`;
  if (minutes > 0) out += `${minutes}m`;
  if (rest > 0) {
    const seconds = Math.floor(rest / MS_PER_SECOND);
    const millis = rest % MS_PER_SECOND;
    out += millis === 0 ? `${seconds}s` : `${seconds}.${String(millis).padStart(3, "0").replace(/0+$/, "")}s`;
  }
  return out;
}
