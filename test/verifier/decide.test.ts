import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { headerSafe } from "../../src/verifier/decide.ts";

describe("headerSafe", () => {
  it("accepts 1 to 256 printable ASCII characters without spaces", () => {
    expect(headerSafe("tZc-GtjEHp3JHGTqtzg3YA")).toBe(true);
    expect(headerSafe("!~")).toBe(true);
    expect(headerSafe("a".repeat(256))).toBe(true);
  });

  it("refuses the empty string, more than 256 characters, spaces, controls and non-ASCII", () => {
    for (const bad of ["", "a".repeat(257), "a b", "a\tb", "a\r\nX-Injected: 1", "é", "\x7f"]) expect(headerSafe(bad)).toBe(false);
  });

  it("agrees with the pattern ^[\\x21-\\x7e]{1,256}$", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        expect(headerSafe(s)).toBe(/^[\x21-\x7e]{1,256}$/.test(s));
      }),
    );
  });
});
