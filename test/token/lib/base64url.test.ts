import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64url, encodeBase64url, isBase64url } from "../../../src/token/lib/base64url.ts";

describe("strict base64url", () => {
  it("round-trips any bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const text = encodeBase64url(bytes);
      return isBase64url(text) && Buffer.from(bytes).equals(decodeBase64url(text)!);
    }));
  });

  it("accepts exactly one encoding of each byte string", () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(..."AQgw-_zZ09aB".split("")), maxLength: 12 }), (text) => {
      const bytes = decodeBase64url(text);
      return bytes === null || encodeBase64url(bytes) === text;
    }));
  });

  it.each([
    ["padding", "AQ=="],
    ["the standard alphabet", "a+b/"],
    ["whitespace", "AQ D"],
    ["a length of 4n+1", "AAAAA"],
    ["non-zero unused bits", "AR"],
    ["a non-ASCII character", "AÀ"],
  ])("refuses %s", (_name, text) => {
    expect(isBase64url(text)).toBe(false);
    expect(decodeBase64url(text)).toBeNull();
  });

  it("accepts the empty string", () => {
    expect(decodeBase64url("")).toEqual(Buffer.alloc(0));
  });
});
