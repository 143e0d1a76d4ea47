import { describe, expect, it } from "vitest";
import { delayUntil, earliestDelay, MAX_REQUEUE_MS } from "../../../src/controller/controllers/context.ts";
import { ManualClock } from "../../../src/kube/clock.ts";

describe("delayUntil", () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));

  it("is the time left until the moment, at least 1 ms", () => {
    expect(delayUntil({ clock }, new Date(clock.now() + 5000))).toBe(5000);
    expect(delayUntil({ clock }, new Date(clock.now() - 5000))).toBe(1);
    expect(delayUntil({ clock }, null)).toBeUndefined();
  });

  it("never asks for a timer longer than Node can keep (a 30-day rotation is looked at again in 12 hours)", () => {
    const month = delayUntil({ clock }, new Date(clock.now() + 30 * 24 * 3_600_000));
    expect(month).toBe(MAX_REQUEUE_MS);
    expect(MAX_REQUEUE_MS).toBeLessThan(2 ** 31 - 1);
  });
});

describe("earliestDelay", () => {
  it("picks the shortest of the delays given", () => {
    expect(earliestDelay(undefined, 30, 10)).toBe(10);
    expect(earliestDelay(undefined)).toBeUndefined();
  });
});
