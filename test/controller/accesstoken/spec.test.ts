import { describe, expect, it } from "vitest";
import { checkTokenSpec } from "../../../src/controller/accesstoken/spec.ts";
import { policyOf } from "../apikey/fixtures.ts";
import { accessToken } from "./fixtures.ts";

describe("checkTokenSpec", () => {
  it("takes the policy's default lifetime and renews with a third of it left", () => {
    expect(checkTokenSpec(accessToken(), policyOf({ defaultTokenLifetime: "12h" }))).toEqual({
      ok: true,
      lifetimeSeconds: 12 * 3600,
      renewBeforeMs: 4 * 3_600_000,
    });
  });

  it("takes spec.lifetime and spec.renewBefore", () => {
    expect(checkTokenSpec(accessToken({ lifetime: "168h", renewBefore: "24h" }), policyOf())).toEqual({
      ok: true,
      lifetimeSeconds: 168 * 3600,
      renewBeforeMs: 24 * 3_600_000,
    });
  });

  it("issues whole seconds for a lifetime with a fraction of a second", () => {
    const check = checkTokenSpec(accessToken({ lifetime: "1m0.9s" }), policyOf());
    expect(check.ok && check.lifetimeSeconds).toBe(60);
  });

  it("accepts a lifetime exactly at the policy's maximum", () => {
    expect(checkTokenSpec(accessToken({ lifetime: "720h" }), policyOf()).ok).toBe(true);
  });

  it("has no lifetime and no renewal for a token that never expires", () => {
    expect(checkTokenSpec(accessToken({ neverExpires: true }), policyOf({ allowNeverExpires: true }))).toEqual({
      ok: true,
      lifetimeSeconds: null,
      renewBeforeMs: null,
    });
  });

  it("refuses lifetime together with neverExpires", () => {
    const check = checkTokenSpec(accessToken({ neverExpires: true, lifetime: "1h" }), policyOf({ allowNeverExpires: true }));
    expect(check).toMatchObject({ ok: false, reason: "InvalidSpec", field: "spec.lifetime" });
  });

  it("names the built-in policy when no policy object exists", () => {
    const builtIn = { ...policyOf(), source: { kind: "BuiltIn" as const, name: "default" as const } };
    const check = checkTokenSpec(accessToken({ lifetime: "1000h" }), builtIn);
    expect(!check.ok && check.message).toContain("the maxTokenLifetime of the built-in default policy (720h)");
  });
});
