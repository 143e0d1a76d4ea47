import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeUnverified, VerificationError } from "../../../src/token/index.ts";
import { encodePart } from "../support/fixtures.ts";

describe("decodeUnverified", () => {
  it("returns the header and claims without checking the signature", () => {
    const token = `${encodePart({ alg: "EdDSA", typ: "at+jwt", kid: "k" })}.${encodePart({ sub: "reporting" })}.bm90LWEtc2lnbmF0dXJl`;
    expect(decodeUnverified(token)).toEqual({ header: { alg: "EdDSA", typ: "at+jwt", kid: "k" }, claims: { sub: "reporting" } });
  });

  it.each([
    ["two parts", `${encodePart({})}.${encodePart({})}`],
    ["four parts", `${encodePart({})}.${encodePart({})}.AA.AA`],
    ["padded base64", `${encodePart({})}=.${encodePart({})}.AA`],
    ["a JSON array", `${encodePart([])}.${encodePart({})}.AA`],
    ["not JSON", `${encodePart("{")}.${encodePart({})}.AA`],
    ["invalid UTF-8", `${Buffer.from([0x7b, 0xc3, 0x7d]).toString("base64url")}.${encodePart({})}.AA`],
  ])("refuses %s with ERR_TOKEN_MALFORMED", (_name, token) => {
    expect(() => decodeUnverified(token)).toThrow(VerificationError);
    try {
      decodeUnverified(token);
    } catch (e) {
      expect((e as VerificationError).code).toBe("ERR_TOKEN_MALFORMED");
      expect((e as VerificationError).message).not.toContain(token);
    }
  });

  it("throws nothing but ERR_TOKEN_MALFORMED for any input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.base64String(), { maxLength: 4 }).map((p) => p.join("."))), (text) => {
        try {
          decodeUnverified(text);
        } catch (e) {
          return e instanceof VerificationError && e.code === "ERR_TOKEN_MALFORMED";
        }
        return true;
      }),
    );
  });
});
