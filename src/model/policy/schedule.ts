// When the next rotation is due: an interval after the last one, or the first
// time of a cron expression after it, evaluated in an IANA time zone.

import { CronExpressionParser } from "cron-parser";
import type { CronSchedule, ResolvedRotationPolicy, Schedule } from "./types.ts";

/**
 * The time of the rotation after one that happened at `lastRotation`.
 *
 * `every`: `lastRotation` + the interval. `cron`: the first time strictly after
 * `lastRotation` that the expression names in its time zone. Daylight-saving
 * transitions follow cron-parser: a wall-clock time skipped by a spring-forward
 * gap runs at the same minute of the following hour (02:30 on a day that jumps from
 * 02:00 to 03:00 runs at 03:30), and a wall-clock time that occurs twice on a
 * fall-back day runs once, at its first occurrence, unless the hour field is a
 * wildcard, in which case both hours run.
 */
export function nextRotation(policy: Pick<ResolvedRotationPolicy, "schedule">, lastRotation: Date): Date {
  return nextScheduled(policy.schedule, lastRotation);
}

export function nextScheduled(schedule: Schedule, after: Date): Date {
  if (schedule.kind === "every") return new Date(after.getTime() + schedule.everyMs);
  return nextCron(schedule, after);
}

function nextCron(schedule: CronSchedule, after: Date): Date {
  const expression = CronExpressionParser.parse(schedule.expression, {
    currentDate: after,
    tz: schedule.timeZone,
  });
  return expression.next().toDate();
}
