import { beforeAll, describe, expect, it } from "vitest";
import { pruneRevoked, REVOKED_RETENTION_SECONDS, TokenInputError } from "../../../src/token/index.ts";
import type { BundleKey, RevokedEntry } from "../../../src/token/index.ts";
import { bundleKey, NOW_MS, NOW_S, signingKey } from "../support/fixtures.ts";

let keys: BundleKey[];
const now = new Date(NOW_MS);

beforeAll(async () => {
  keys = [bundleKey(await signingKey(), "reporting")];
});

describe("pruneRevoked", () => {
  it("keeps entries whose token has not expired", () => {
    const entry: RevokedEntry = { jti: "a", apiKey: "reporting", exp: NOW_S + 60 };
    expect(pruneRevoked([entry], keys, now)).toEqual([entry]);
  });

  it("keeps an expired token's entry through the retention margin, which covers any verifier leeway", () => {
    const entry: RevokedEntry = { jti: "a", apiKey: "reporting", exp: NOW_S - REVOKED_RETENTION_SECONDS + 1 };
    expect(pruneRevoked([entry], keys, now)).toEqual([entry]);
    expect(REVOKED_RETENTION_SECONDS).toBeGreaterThanOrEqual(300);
  });

  it("drops an entry once its exp and the retention margin have passed", () => {
    expect(pruneRevoked([{ jti: "a", apiKey: "reporting", exp: NOW_S - REVOKED_RETENTION_SECONDS }], keys, now)).toEqual([]);
  });

  it("keeps a non-expiring token's entry while its ApiKey has a key", () => {
    const entry: RevokedEntry = { jti: "a", apiKey: "reporting", exp: null };
    expect(pruneRevoked([entry], keys, now)).toEqual([entry]);
  });

  it("drops entries of an ApiKey that has no key left", () => {
    expect(pruneRevoked([{ jti: "a", apiKey: "billing", exp: null }, { jti: "b", apiKey: "billing", exp: NOW_S + 60 }], keys, now)).toEqual([]);
  });

  it("keeps the order of the entries it keeps", () => {
    const entries: RevokedEntry[] = [
      { jti: "z", apiKey: "reporting", exp: null },
      { jti: "gone", apiKey: "reporting", exp: 1 },
      { jti: "a", apiKey: "reporting", exp: NOW_S + 60 },
    ];
    expect(pruneRevoked(entries, keys, now).map((e) => e.jti)).toEqual(["z", "a"]);
  });

  it("refuses an invalid date rather than dropping every entry", () => {
    expect(() => pruneRevoked([{ jti: "a", apiKey: "reporting", exp: NOW_S }], keys, new Date(Number.NaN))).toThrow(TokenInputError);
  });
});
