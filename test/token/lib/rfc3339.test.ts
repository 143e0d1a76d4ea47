import { describe, expect, it } from "vitest";
import { formatRfc3339, parseRfc3339 } from "../../../src/token/index.ts";

describe("parseRfc3339", () => {
  it.each([
    ["2026-11-29T12:00:00Z", Date.UTC(2026, 10, 29, 12)],
    ["2026-11-29t12:00:00z", Date.UTC(2026, 10, 29, 12)],
    ["2026-11-29T13:30:00+01:30", Date.UTC(2026, 10, 29, 12)],
    ["2026-11-29T07:00:00-05:00", Date.UTC(2026, 10, 29, 12)],
    ["2026-11-29T12:00:00.5Z", Date.UTC(2026, 10, 29, 12, 0, 0, 500)],
    ["2026-11-29T12:00:00.123456789Z", Date.UTC(2026, 10, 29, 12, 0, 0, 123)],
    ["2028-02-29T00:00:00Z", Date.UTC(2028, 1, 29)],
    ["0001-01-01T00:00:00Z", Date.parse("0001-01-01T00:00:00Z")],
  ])("reads %s", (text, ms) => {
    expect(parseRfc3339(text)).toBe(ms);
  });

  it.each([
    "2026-11-29", "2026-11-29 12:00:00Z", "2026-11-29T12:00:00", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
    "2026-11-31T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T12:60:00Z", "2026-11-29T12:00:60Z", "2026-11-29T12:00:00+24:00",
    "2026-11-29T12:00:00.Z", "+2026-11-29T12:00:00Z", "yesterday", "",
  ])("refuses %j", (text) => {
    expect(parseRfc3339(text)).toBeNull();
  });
});

describe("formatRfc3339", () => {
  it("writes UTC with second precision", () => {
    expect(formatRfc3339(Date.UTC(2026, 10, 29, 12, 0, 0, 999))).toBe("2026-11-29T12:00:00Z");
  });
});
