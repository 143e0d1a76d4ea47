import { describe, expect, it } from "vitest";
import { pathPatternProblem } from "../../../src/token/index.ts";
import { compilePathPattern } from "../../../src/token/policy/pattern.ts";

describe("path patterns", () => {
  it.each([
    ["/api/v0/**", "/api/v0", true],
    ["/api/v0/**", "/api/v0/rows", true],
    ["/api/v0/**", "/api/v0/rows/7/cells", true],
    ["/api/v0/**", "/api/v0x", false],
    ["/api/v0/**", "/api", false],
    ["/api/*/rows", "/api/v0/rows", true],
    ["/api/*/rows", "/api/rows", false],
    ["/api/*/rows", "/api/v0/v1/rows", false],
    ["/api/*", "/api", false],
    ["/api/**/rows", "/api/rows", true],
    ["/api/**/rows", "/api/a/b/c/rows", true],
    ["/api/**/rows", "/api/a/b/c/rows/x", false],
    ["/**/admin/**", "/admin", true],
    ["/**/admin/**", "/x/y/admin/z", true],
    ["/**/admin/**", "/x/administrator", false],
    ["/*/**", "/", false],
    ["/*/**", "/a", true],
    ["/**", "/", true],
    ["/**", "/any/thing", true],
    ["/", "/", true],
    ["/", "/a", false],
    ["/api/v0", "/api/v0", true],
    ["/api/v0", "/api/v0/rows", false],
    ["/caf%C3%A9", "/caf%C3%A9", true],
  ])("%s matching %s is %s", (pattern, path, expected) => {
    expect(compilePathPattern(pattern)(path)).toBe(expected);
  });

  it.each(["/", "/**", "/api/v0/**", "/api/*/rows", "/a/**/b/*", "/caf%C3%A9", "/a;b=c/@:"])("accepts the pattern %j", (pattern) => {
    expect(pathPatternProblem(pattern)).toBeNull();
  });

  it.each([
    ["api/v0", /start with "\/"/],
    ["", /start with "\/"/],
    ["/api/", /empty segment/],
    ["/api//v0", /empty segment/],
    ["/api/../admin", /"\.\."/],
    ["/api/./v0", /"\."/],
    ["/api/v*", /whole segment/],
    ["/api/***", /whole segment/],
    ["/api/%7Ev0", /normal form: write it as "~v0"/],
    ["/caf%c3%a9", /normal form/],
    ["/api%2Fv0", /encoded "\/"/],
    ["/api?x=1", /"\?" or "#"/],
    ["/a\\b", /"\\"/],
  ])("refuses the pattern %j", (pattern, reason) => {
    expect(pathPatternProblem(pattern)).toMatch(reason);
    expect(() => compilePathPattern(pattern)).toThrow(reason);
  });
});
