// Flag durations: Go-style ("90s", "1h30m", "500ms"), the format of metav1.Duration plus ms,
// so the verifier's flags read like the rest of the cluster's configuration. CRD fields use
// src/api/duration.ts (no ms: what CEL's duration() compares); messages for people, the
// demo's formatForPeople.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const PART = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

/** Milliseconds in a Go-style duration, or null when the text is not one. "0" is zero. */
export function parseFlagDuration(text: string): number | null {
  if (text === "0") return 0;
  if (text.length === 0 || text.length > 64) return null;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const match = PART.exec(text);
    if (match === null || match.index !== at) return null;
    const unit = UNIT_MS[match[2]!]!;
    total += Number(match[1]) * unit;
  }
  return Number.isFinite(total) ? Math.round(total) : null;
}

/** A duration as Go would print it, for help texts and logs: 90000 → "1m30s". */
export function formatFlagDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1000) return `${ms}ms`;
  let rest = Math.round(ms / 1000);
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  return `${h > 0 ? `${h}h` : ""}${m > 0 ? `${m}m` : ""}${s > 0 ? `${s}s` : ""}`;
}
