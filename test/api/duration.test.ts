import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DURATION_PATTERN, DurationError, MAX_DURATION_MS, formatDuration, isDuration, parseDuration } from "../../src/api/index.ts";

const HOUR = 3_600_000;
const MINUTE = 60_000;

function durationError(f: () => unknown): DurationError {
  try {
    f();
  } catch (err) {
    if (err instanceof DurationError) return err;
    throw err;
  }
  throw new Error("expected a DurationError");
}

/** A valid duration string built from components: "12h", "1.5m", "3h20m7s", "1h1h". */
const durationString = fc
  .array(
    fc.record({
      whole: fc.integer({ min: 0, max: 9999 }),
      fraction: fc.option(fc.stringMatching(/^[0-9]{1,6}$/), { nil: undefined }),
      unit: fc.constantFrom("h", "m", "s"),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((parts) => parts.map((p) => `${p.whole}${p.fraction === undefined ? "" : `.${p.fraction}`}${p.unit}`).join(""));

const wholeDurationString = fc
  .array(fc.record({ whole: fc.integer({ min: 0, max: 99_999 }), unit: fc.constantFrom("h", "m", "s") }), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.map((p) => `${p.whole}${p.unit}`).join(""));

describe("parseDuration", () => {
  it.each([
    ["720h", 720 * HOUR],
    ["1h30m", 90 * MINUTE],
    ["90s", 90_000],
    ["1.5h", 90 * MINUTE],
    ["0.5s", 500],
    ["1h0m0s", HOUR],
    ["0s", 0],
    ["1h1h", 2 * HOUR],
    ["0.0001s", 0],
    ["0.1h", 6 * MINUTE],
    ["2562047h", 2_562_047 * HOUR],
  ])("reads %s as %d ms", (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
  });

  it.each(["", "1", "h", "1d", "-1h", "+1h", "1ms", "1us", "1.h", ".5h", " 1h", "1h ", "1H", "1h-1m", "1e3s", "١h"])(
    "refuses %j with a DurationError naming the value",
    (s) => {
      const err = durationError(() => parseDuration(s));
      expect(err.code).toBe("ERR_DURATION");
      expect(err.value).toBe(s);
      expect(err.message).toContain(`"${s}"`);
      expect(err.message).toContain("720h");
    },
  );

  it("refuses a duration longer than Go and CEL can represent", () => {
    const err = durationError(() => parseDuration("2562048h"));
    expect(err.value).toBe("2562048h");
    expect(err.message).toContain("too long");
    expect(parseDuration("2562047h47m16.854s")).toBe(MAX_DURATION_MS);
    expect(() => parseDuration("2562047h47m16.855s")).toThrow(DurationError);
  });

  it("refuses a value that is not a string", () => {
    expect(durationError(() => parseDuration(42 as unknown as string)).value).toBe("42");
  });

  it("accepts exactly the strings the CRD pattern accepts", () => {
    fc.assert(
      fc.property(fc.oneof(durationString, fc.string({ maxLength: 7 }), fc.stringMatching(/^[0-9.hms]{1,7}$/)), (s) => {
        expect(isDuration(s)).toBe(DURATION_PATTERN.test(s));
      }),
    );
  });

  it("adds up the components of a duration", () => {
    fc.assert(
      fc.property(wholeDurationString, wholeDurationString, (a, b) => {
        expect(parseDuration(a + b)).toBe(parseDuration(a) + parseDuration(b));
      }),
    );
  });

  it("loses less than a millisecond per component to truncation when fractions are involved", () => {
    fc.assert(
      fc.property(durationString, durationString, (a, b) => {
        const diff = parseDuration(a + b) - parseDuration(a) - parseDuration(b);
        expect(diff).toBeGreaterThanOrEqual(0);
        expect(diff).toBeLessThanOrEqual(1);
      }),
    );
  });

  it("scales each unit: n h = 60 n m = 3600 n s", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
        expect(parseDuration(`${n}h`)).toBe(parseDuration(`${60 * n}m`));
        expect(parseDuration(`${n}m`)).toBe(parseDuration(`${60 * n}s`));
        expect(parseDuration(`${n}s`)).toBe(n * 1000);
      }),
    );
  });
});

describe("formatDuration", () => {
  it.each([
    [720 * HOUR, "720h"],
    [90 * MINUTE, "1h30m"],
    [90_000, "1m30s"],
    [1_500, "1.5s"],
    [1, "0.001s"],
    [HOUR + 1, "1h0.001s"],
    [0, "0s"],
  ])("writes %d ms as %s", (ms, s) => {
    expect(formatDuration(ms)).toBe(s);
  });

  it.each([-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_DURATION_MS + 1])("refuses %d with a DurationError", (ms) => {
    expect(durationError(() => formatDuration(ms)).value).toBe(String(ms));
  });

  it("round-trips every whole number of milliseconds through parseDuration", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_DURATION_MS }), (ms) => {
        const s = formatDuration(ms);
        expect(s).toMatch(DURATION_PATTERN);
        expect(parseDuration(s)).toBe(ms);
      }),
    );
  });

  it("writes the canonical form of a parsed duration", () => {
    fc.assert(
      fc.property(durationString, (s) => {
        const canonical = formatDuration(parseDuration(s));
        expect(formatDuration(parseDuration(canonical))).toBe(canonical);
        expect(canonical.length).toBeLessThanOrEqual(32);
      }),
    );
  });
});
