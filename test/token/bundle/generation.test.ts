import { beforeAll, describe, expect, it } from "vitest";
import { assertNotOlder, BundleError, buildBundle } from "../../../src/token/index.ts";
import type { Bundle } from "../../../src/token/index.ts";
import { bundleInput, bundleKey, signingKey } from "../support/fixtures.ts";

let at: (generation: number) => Bundle;
let withRevocation: (generation: number) => Bundle;

beforeAll(async () => {
  const key = bundleKey(await signingKey());
  at = (generation) => buildBundle(bundleInput({ keys: [key], generation }));
  withRevocation = (generation) => buildBundle(bundleInput({ keys: [key], generation, revoked: [{ jti: "t1", apiKey: key.apiKey, exp: null }] }));
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

  it("accepts the same generation in another order of its members, since only the content counts", () => {
    const b = withRevocation(42);
    const reordered = { ...b, revoked: [...b.revoked].reverse(), keys: [...b.keys].reverse() };
    expect(() => { assertNotOlder(b, reordered); }).not.toThrow();
  });

  it("refuses the same generation with a revocation removed with ERR_BUNDLE_EQUIVOCATION", () => {
    try {
      assertNotOlder(withRevocation(42), at(42));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(BundleError);
      expect((e as BundleError).code).toBe("ERR_BUNDLE_EQUIVOCATION");
      expect((e as BundleError).field).toBe("generation");
      expect((e as BundleError).message).toContain("ConfigMap keyward-bundle");
    }
  });

  it("refuses the same generation with a revocation added, since any other content is an edit", () => {
    expect(() => { assertNotOlder(at(42), withRevocation(42)); }).toThrow(expect.objectContaining({ code: "ERR_BUNDLE_EQUIVOCATION" }));
  });
});
