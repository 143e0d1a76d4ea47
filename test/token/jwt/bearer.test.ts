import { describe, expect, it } from "vitest";
import { bearerToken } from "../../../src/token/index.ts";

describe("bearerToken", () => {
  it.each([
    ["Bearer abc.def.ghi", "abc.def.ghi"],
    ["bearer abc.def.ghi", "abc.def.ghi"],
    ["BEARER abc.def.ghi", "abc.def.ghi"],
    ["Bearer  abc.def.ghi", "abc.def.ghi"],
    ["Bearer abc.def.ghi ", "abc.def.ghi"],
    ["Bearer a-b_c~d+e/f==", "a-b_c~d+e/f=="],
  ])("takes the token out of %j", (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([
    ["no header", undefined],
    ["an empty header", ""],
    ["the scheme alone", "Bearer"],
    ["the scheme and a space", "Bearer "],
    ["another scheme", "Basic dXNlcjpwYXNz"],
    ["two tokens", "Bearer abc def"],
    ["a scheme glued to the token", "Bearerabc"],
    ["a comma-separated list", "Bearer abc, Bearer def"],
    ["a character outside b64token", "Bearer abc\"def"],
    ["a tab separator", "Bearer\tabc"],
  ])("finds no token in %s", (_name, header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});
