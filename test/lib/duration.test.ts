import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatFlagDuration, parseFlagDuration } from "../../src/lib/duration.ts";

describe("parseFlagDuration", () => {
  it("reads Go-style durations of hours, minutes, seconds and milliseconds", () => {
    expect(parseFlagDuration("90s")).toBe(90_000);
    expect(parseFlagDuration("1h30m")).toBe(5_400_000);
    expect(parseFlagDuration("500ms")).toBe(500);
    expect(parseFlagDuration("1m30s500ms")).toBe(90_500);
    expect(parseFlagDuration("1.5s")).toBe(1500);
    expect(parseFlagDuration("0")).toBe(0);
    expect(parseFlagDuration("0s")).toBe(0);
  });

  it("refuses text that is not a duration", () => {
    for (const bad of ["", "10", "s", "1d", "-5s", "5 s", "1h 30m", "abc", "1hh", "5S"]) {
      expect(parseFlagDuration(bad), bad).toBeNull();
    }
  });

  it("reads back every duration it prints", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (seconds) => {
        expect(parseFlagDuration(formatFlagDuration(seconds * 1000))).toBe(seconds * 1000);
      }),
    );
  });
});
