import { describe, expect, it } from "vitest";
import { nextRotation, nextScheduled } from "../../../src/model/policy/schedule.ts";
import type { Schedule } from "../../../src/model/policy/types.ts";

const cron = (expression: string, timeZone: string): { schedule: Schedule } => ({
  schedule: { kind: "cron", expression, timeZone },
});

/** The next `n` rotations, each counted from the previous one. */
function chain(policy: { schedule: Schedule }, from: string, n: number): string[] {
  const out: string[] = [];
  let at = new Date(from);
  for (let i = 0; i < n; i++) {
    at = nextRotation(policy, at);
    out.push(at.toISOString());
  }
  return out;
}

describe("nextRotation with an interval", () => {
  it("adds the interval to the last rotation", () => {
    const policy = { schedule: { kind: "every", everyMs: 720 * 3_600_000 } as Schedule };
    expect(nextRotation(policy, new Date("2026-01-01T00:00:00Z")).toISOString()).toBe("2026-01-31T00:00:00.000Z");
  });

  it("counts elapsed time, not wall-clock time, across a daylight-saving change", () => {
    const policy = { schedule: { kind: "every", everyMs: 24 * 3_600_000 } as Schedule };
    // 2026-03-29 is 23 hours long in Europe/Berlin; the interval does not care.
    expect(nextRotation(policy, new Date("2026-03-28T12:00:00Z")).toISOString()).toBe("2026-03-29T12:00:00.000Z");
  });
});

describe("nextRotation with a cron expression", () => {
  it("returns the first time strictly after the last rotation", () => {
    const policy = cron("0 3 1 * *", "UTC");
    expect(nextRotation(policy, new Date("2026-01-01T03:00:00Z")).toISOString()).toBe("2026-02-01T03:00:00.000Z");
    expect(nextRotation(policy, new Date("2026-01-01T02:59:59Z")).toISOString()).toBe("2026-01-01T03:00:00.000Z");
  });

  it("evaluates the expression in its time zone", () => {
    expect(nextRotation(cron("0 3 * * *", "Europe/Berlin"), new Date("2026-01-10T00:00:00Z")).toISOString()).toBe(
      "2026-01-10T02:00:00.000Z",
    );
    expect(nextRotation(cron("0 3 * * *", "America/New_York"), new Date("2026-01-10T00:00:00Z")).toISOString()).toBe(
      "2026-01-10T08:00:00.000Z",
    );
  });

  it("keeps 03:00 Berlin time across the spring-forward day, one hour less apart in UTC", () => {
    expect(chain(cron("0 3 * * *", "Europe/Berlin"), "2026-03-27T12:00:00Z", 3)).toEqual([
      "2026-03-28T02:00:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-30T01:00:00.000Z",
    ]);
  });

  it("runs a time skipped by the Berlin spring-forward gap an hour later on that day only", () => {
    // On 2026-03-29 Berlin clocks jump from 02:00 to 03:00: 02:30 does not exist that day.
    expect(chain(cron("30 2 * * *", "Europe/Berlin"), "2026-03-27T12:00:00Z", 3)).toEqual([
      "2026-03-28T01:30:00.000Z", // 02:30 CET
      "2026-03-29T01:30:00.000Z", // 03:30 CEST
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
    ]);
  });

  it("runs a time repeated by the Berlin fall-back once, at its first occurrence", () => {
    // On 2026-10-25 Berlin clocks go back from 03:00 to 02:00: 02:30 happens twice.
    expect(chain(cron("30 2 * * *", "Europe/Berlin"), "2026-10-24T12:00:00Z", 2)).toEqual([
      "2026-10-25T00:30:00.000Z", // 02:30 CEST, the first 02:30
      "2026-10-26T01:30:00.000Z", // 02:30 CET the next day
    ]);
  });

  it("runs an hourly expression in both repeated hours of the Berlin fall-back", () => {
    expect(chain(cron("0 * * * *", "Europe/Berlin"), "2026-10-24T23:30:00Z", 4)).toEqual([
      "2026-10-25T00:00:00.000Z", // 02:00 CEST
      "2026-10-25T01:00:00.000Z", // 02:00 CET
      "2026-10-25T02:00:00.000Z", // 03:00 CET
      "2026-10-25T03:00:00.000Z",
    ]);
  });

  it("runs a time skipped by the New York spring-forward gap an hour later", () => {
    // On 2026-03-08 New York clocks jump from 02:00 to 03:00.
    expect(chain(cron("30 2 * * *", "America/New_York"), "2026-03-07T12:00:00Z", 3)).toEqual([
      "2026-03-08T07:30:00.000Z", // 03:30 EDT
      "2026-03-09T06:30:00.000Z", // 02:30 EDT
      "2026-03-10T06:30:00.000Z",
    ]);
  });

  it("runs a time repeated by the New York fall-back once", () => {
    // On 2026-11-01 New York clocks go back from 02:00 to 01:00: 01:30 happens twice.
    expect(chain(cron("30 1 * * *", "America/New_York"), "2026-10-31T12:00:00Z", 2)).toEqual([
      "2026-11-01T05:30:00.000Z", // 01:30 EDT
      "2026-11-02T06:30:00.000Z", // 01:30 EST
    ]);
  });

  it("keeps a weekly Sunday rotation on Sunday across the New York spring-forward", () => {
    expect(chain(cron("0 4 * * 0", "America/New_York"), "2026-03-01T12:00:00Z", 2)).toEqual([
      "2026-03-08T08:00:00.000Z", // Sunday 04:00 EDT
      "2026-03-15T08:00:00.000Z",
    ]);
  });

  it("gives the same answer through nextScheduled", () => {
    const policy = cron("0 3 1 * *", "Europe/Berlin");
    const at = new Date("2026-05-17T10:00:00Z");
    expect(nextScheduled(policy.schedule, at)).toEqual(nextRotation(policy, at));
  });
});
