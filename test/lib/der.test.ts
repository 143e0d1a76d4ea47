import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { namedBitString, objectIdentifier, sequence, time, tlv, unsignedInteger } from "../../src/lib/der.ts";

/** Reads one TLV: its tag, its content, and how many bytes it took. */
function readTlv(der: Buffer): { tag: number; content: Buffer; size: number } {
  const tag = der[0]!;
  const first = der[1]!;
  let length = first;
  let offset = 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    expect(count).toBeGreaterThan(0);
    expect(der[2]).not.toBe(0); // DER: minimal length encoding
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[2 + i]!;
    expect(length).toBeGreaterThanOrEqual(0x80);
    offset = 2 + count;
  }
  return { tag, content: der.subarray(offset, offset + length), size: offset + length };
}

describe("the DER encoder", () => {
  it("encodes every content length in the minimal definite form and keeps the content intact", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 255 }), (length, fill) => {
        const content = Buffer.alloc(length, fill);
        const der = tlv(0x04, content);
        const read = readTlv(der);
        expect(read.tag).toBe(0x04);
        expect(read.size).toBe(der.length);
        expect(read.content.equals(content)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("encodes unsigned integers as positive two's complement without redundant leading zeros", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (bytes) => {
        const magnitude = Buffer.from(bytes);
        const { tag, content } = readTlv(unsignedInteger(magnitude));
        expect(tag).toBe(0x02);
        expect(content[0]! & 0x80).toBe(0);
        if (content.length > 1) expect(content[0] === 0 && (content[1]! & 0x80) === 0).toBe(false);
        const expected = magnitude.length === 0 ? 0n : BigInt(`0x${magnitude.toString("hex")}`);
        expect(BigInt(`0x${content.toString("hex")}`)).toBe(expected);
      }),
    );
  });

  it("encodes object identifiers as RFC 5280 and X.690 give them", () => {
    expect(objectIdentifier("1.2.840.10045.4.3.2").toString("hex")).toBe("06082a8648ce3d040302");
    expect(objectIdentifier("2.5.29.17").toString("hex")).toBe("0603551d11");
    expect(objectIdentifier("1.3.6.1.5.5.7.3.1").toString("hex")).toBe("06082b06010505070301");
  });

  it("refuses a string that is not a dotted object identifier", () => {
    expect(() => objectIdentifier("1.2.x")).toThrow(/not a dotted OID/);
    expect(() => objectIdentifier("3.1")).toThrow(/not a valid OID/);
  });

  it("writes named bit strings with trailing zero bits dropped", () => {
    expect(namedBitString([0]).toString("hex")).toBe("03020780"); // digitalSignature
    expect(namedBitString([0, 5, 6]).toString("hex")).toBe("03020186"); // + keyCertSign, cRLSign
    expect(namedBitString([8]).toString("hex")).toBe("0303070080");
  });

  it("writes UTCTime before 2050 and GeneralizedTime from 2050 on", () => {
    expect(time(new Date("2026-11-29T12:34:56.789Z")).toString("ascii", 2)).toBe("261129123456Z");
    expect(time(new Date("2026-11-29T12:34:56Z"))[0]).toBe(0x17);
    const late = time(new Date("2051-01-02T03:04:05Z"));
    expect(late[0]).toBe(0x18);
    expect(late.toString("ascii", 2)).toBe("20510102030405Z");
  });

  it("nests sequences with the lengths of their parts", () => {
    const inner = sequence(objectIdentifier("2.5.4.3"));
    const outer = sequence(inner, inner);
    expect(readTlv(outer).content.equals(Buffer.concat([inner, inner]))).toBe(true);
  });
});
