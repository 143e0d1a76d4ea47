import { describe, expect, it } from "vitest";
import { newJti } from "../../../src/token/index.ts";

describe("newJti", () => {
  it("is 128 bits as unpadded base64url", () => {
    const jti = newJti();
    expect(jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(jti, "base64url")).toHaveLength(16);
  });

  it("does not repeat", () => {
    const seen = new Set(Array.from({ length: 1000 }, newJti));
    expect(seen.size).toBe(1000);
  });
});
