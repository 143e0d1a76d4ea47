import { beforeAll, describe, expect, it } from "vitest";
import { buildBundle, sameBundleContent } from "../../../src/token/index.ts";
import type { Bundle, BundleKey } from "../../../src/token/index.ts";
import { apiKeyEntry, bundleInput, bundleKey, signingKey } from "../support/fixtures.ts";

let keys: BundleKey[];
let base: Bundle;

beforeAll(async () => {
  keys = [bundleKey(await signingKey("EdDSA")), bundleKey(await signingKey("ES256"), "billing")];
  base = buildBundle(bundleInput({ keys }));
});

describe("sameBundleContent", () => {
  it("ignores generation and generatedAt", () => {
    expect(sameBundleContent(base, { ...base, generation: 99, generatedAt: "2030-01-01T00:00:00Z" })).toBe(true);
  });

  it("ignores the order of keys and revoked entries", () => {
    expect(sameBundleContent(base, { ...base, keys: [...base.keys].reverse() })).toBe(true);
  });

  it("sees a change of any content", () => {
    expect(sameBundleContent(base, { ...base, keys: base.keys.slice(1) })).toBe(false);
    expect(sameBundleContent(base, { ...base, issuer: "https://other.example" })).toBe(false);
    expect(sameBundleContent(base, { ...base, apiKeys: { ...base.apiKeys, reporting: apiKeyEntry({ suspended: true }) } })).toBe(false);
    expect(sameBundleContent(base, { ...base, revoked: [{ jti: "a", apiKey: "reporting", exp: null }] })).toBe(false);
    const deposed = { ...base.keys[0]!, state: "deposed" as const, notAfter: "2026-12-01T00:00:00Z" };
    expect(sameBundleContent(base, { ...base, keys: [deposed, ...base.keys.slice(1)] })).toBe(false);
  });
});
