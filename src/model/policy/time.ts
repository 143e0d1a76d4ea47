// Times as the controller stores them in Secrets and status: RFC 3339 in UTC,
// to the second when the time has no milliseconds ("2026-11-29T12:00:00Z").

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** RFC 3339 in UTC, without a fractional part when the milliseconds are zero. */
export function formatTime(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
}

/** The time an RFC 3339 string names, or null when it is not one. */
export function parseTime(text: string): Date | null {
  if (!RFC3339.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : new Date(ms);
}

/** `date` with its milliseconds dropped: every time the planners write is a whole second. */
export function floorToSecond(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

export function addMs(date: Date, ms: number): Date {
  return new Date(date.getTime() + ms);
}

/** The earliest of the dates given, ignoring null and undefined; null when there is none. */
export function earliest(...dates: (Date | null | undefined)[]): Date | null {
  let best: Date | null = null;
  for (const d of dates) if (d != null && (best === null || d.getTime() < best.getTime())) best = d;
  return best;
}
