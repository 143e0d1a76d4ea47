import { beforeAll, describe, expect, it } from "vitest";
import { assertNotOlder, BundleError, buildBundle } from "../../../src/token/index.ts";
import type { Bundle } from "../../../src/token/index.ts";
import { bundleInput, bundleKey, signingKey } from "../support/fixtures.ts";

let at: (generation: number) => Bundle;

beforeAll(async () => {
  const key = bundleKey(await signingKey());
  at = (generation) => buildBundle(bundleInput({ keys: [key], generation }));
});

describe("assertNotOlder", () => {
  it("accepts any bundle when none is in use", () => {
    expect(() => { assertNotOlder(null, at(0)); }).not.toThrow();
  });

  it("accepts a newer generation and the same generation again", () => {
    expect(() => { assertNotOlder(at(41), at(42)); }).not.toThrow();
    expect(() => { assertNotOlder(at(42), at(42)); }).not.toThrow();
  });

  it("refuses an older generation with ERR_BUNDLE_GENERATION_REGRESSION", () => {
    try {
      assertNotOlder(at(42), at(41));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BundleError);
      expect((e as BundleError).code).toBe("ERR_BUNDLE_GENERATION_REGRESSION");
      expect((e as BundleError).field).toBe("generation");
      expect((e as BundleError).message).toBe("generation: is 41, older than generation 42 in use for tenant \"acme\"; the older bundle is ignored");
    }
  });
});
