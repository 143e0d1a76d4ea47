export * from "./types.generated.ts";
export { DURATION_PATTERN, DurationError, MAX_DURATION_MS, formatDuration, isDuration, parseDuration } from "./duration.ts";
