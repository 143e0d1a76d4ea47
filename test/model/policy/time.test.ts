import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { earliest, floorToSecond, formatTime, parseTime } from "../../../src/model/policy/time.ts";

describe("controller times", () => {
  it("are written in UTC, without a fraction when there is none", () => {
    expect(formatTime(new Date("2026-11-29T12:00:00.000Z"))).toBe("2026-11-29T12:00:00Z");
    expect(formatTime(new Date("2026-11-29T12:00:00.250Z"))).toBe("2026-11-29T12:00:00.250Z");
  });

  it("are read from RFC 3339 with any offset", () => {
    expect(parseTime("2026-11-29T13:00:00+01:00")).toEqual(new Date("2026-11-29T12:00:00Z"));
    expect(parseTime("2026-11-29t12:00:00.5z")).toEqual(new Date("2026-11-29T12:00:00.500Z"));
  });

  it.each(["2026-11-29", "2026-11-29 12:00:00Z", "2026-11-29T12:00:00", "yesterday", "", "2026-13-01T00:00:00Z"])(
    "refuse %j",
    (text) => {
      expect(parseTime(text)).toBeNull();
    },
  );

  it("read back what they write", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("1970-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59Z"), noInvalidDate: true }), (d) => {
        expect(parseTime(formatTime(d))).toEqual(d);
      }),
    );
  });

  it("drop milliseconds when floored", () => {
    expect(floorToSecond(new Date("2026-01-01T00:00:00.999Z"))).toEqual(new Date("2026-01-01T00:00:00Z"));
  });

  it("pick the earliest of those given", () => {
    const a = new Date("2026-01-02T00:00:00Z");
    const b = new Date("2026-01-01T00:00:00Z");
    expect(earliest(a, null, b, undefined)).toBe(b);
    expect(earliest(null, undefined)).toBeNull();
  });
});
