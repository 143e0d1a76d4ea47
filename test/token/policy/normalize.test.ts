import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { matchPolicies, normalizePath, VerificationError } from "../../../src/token/index.ts";

function refusal(raw: string): VerificationError | null {
  try {
    normalizePath(raw);
    return null;
  } catch (e) {
    return e as VerificationError;
  }
}

const SEGMENTS = [
  "a", "b", "public", "admin", "api", "v0", ".", "..", "", "%2e", "%2E%2e", ".%2E", "%41", "%7e", "%7E", "%3b", "%3B", "%c3%a9",
  "é", "x y", "%25", ";", "@", ":", "~", "a.b", "...", "%20",
];
const pathFrom = fc.array(fc.constantFrom(...SEGMENTS), { maxLength: 10 }).map((segments) => `/${segments.join("/")}`);
const anyPath = fc.oneof(pathFrom, fc.string().map((s) => `/${s}`), fc.string({ unit: fc.constantFrom(..."/.%2eEfF5cC0a?#\\".split("")) }).map((s) => `/${s}`));

function normalised(raw: string): string | null {
  try {
    return normalizePath(raw);
  } catch (e) {
    if (!(e instanceof VerificationError) || e.code !== "ERR_PATH_INVALID") throw e;
    return null;
  }
}

describe("normalizePath", () => {
  it.each([
    ["/", "/"],
    ["/api/v0/rows", "/api/v0/rows"],
    ["/api/v0/rows/", "/api/v0/rows"],
    ["//api///v0//", "/api/v0"],
    ["/api/./v0/.", "/api/v0"],
    ["/api/x/../v0", "/api/v0"],
    ["/api/v0/..", "/api"],
    ["/api/..", "/"],
    ["/api/v0?limit=10&x=/../..", "/api/v0"],
    ["/api/v0#frag/../..", "/api/v0"],
    ["/api/v0?#", "/api/v0"],
    ["/%61%70%69/%7Ev0", "/api/~v0"],
    ["/api/%2e%2E/v0", "/v0"],
    ["/a%3bb/c%3Bd", "/a%3Bb/c%3Bd"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/café", "/caf%C3%A9"],
    ["/a b", "/a%20b"],
    ["/emoji/😀", "/emoji/%F0%9F%98%80"],
    ["/%25", "/%25"],
    ["/a;b=c/@:!$&'()*+,", "/a;b=c/@:!$&'()*+,"],
    ["/...", "/..."],
  ])("normalises %j to %j", (raw, expected) => {
    expect(normalizePath(raw)).toBe(expected);
  });

  it.each([
    ["an empty path", ""],
    ["a relative path", "api/v0"],
    ["a query alone", "?a=1"],
    ["an absolute URL", "https://example.com/api"],
    ["an encoded slash", "/api%2Fv0"],
    ["an encoded slash in lower case", "/api%2fv0"],
    ["an encoded backslash", "/api%5Cv0"],
    ["an encoded backslash in lower case", "/api%5cv0"],
    ["a literal backslash", "/api\\v0"],
    ["an encoded NUL", "/api%00"],
    ["a literal NUL", "/api\u0000"],
    ["a control character", "/api\n"],
    ["a truncated escape", "/api%2"],
    ["a non-hex escape", "/api%zz"],
    ["a lone percent sign", "/100%"],
    ["dot-dot above the root", "/.."],
    ["encoded dot-dot above the root", "/a/%2e%2e/%2E%2E"],
    ["a lone surrogate", "/\ud800"],
  ])("refuses %s", (_name, raw) => {
    const error = refusal(raw);
    expect(error).toBeInstanceOf(VerificationError);
    expect(error?.code).toBe("ERR_PATH_INVALID");
    expect(error?.status).toBe(400);
  });

  it("never leaves //, /./ or /../, nor a trailing /.. or /.", () => {
    fc.assert(fc.property(anyPath, (raw) => {
      const path = normalised(raw);
      if (path === null) return;
      expect(path.startsWith("/")).toBe(true);
      expect(path).not.toContain("//");
      expect(path).not.toContain("/./");
      expect(path).not.toContain("/../");
      expect(path.endsWith("/..")).toBe(false);
      expect(path.endsWith("/.")).toBe(false);
      expect(path === "/" || !path.endsWith("/")).toBe(true);
    }), { numRuns: 2000 });
  });

  it("leaves only upper-case escapes of reserved, non-slash bytes", () => {
    fc.assert(fc.property(anyPath, (raw) => {
      const path = normalised(raw);
      if (path === null) return;
      for (const [, hex] of path.matchAll(/%(..)/g)) {
        expect(hex).toMatch(/^[0-9A-F]{2}$/);
        const char = String.fromCharCode(parseInt(hex!, 16));
        expect(char).not.toMatch(/[A-Za-z0-9\-._~/\\\0]/);
      }
    }), { numRuns: 2000 });
  });

  it("gives the same result when applied twice", () => {
    fc.assert(fc.property(anyPath, (raw) => {
      const once = normalised(raw);
      if (once !== null) expect(normalizePath(once)).toBe(once);
    }), { numRuns: 2000 });
  });

  it("never lets /public/../admin match /public/**", () => {
    const policies = [{ name: "public", policy: { rules: [{ effect: "Allow" as const, methods: ["*"], paths: ["/public/**"] }] } }];
    expect(matchPolicies(policies, "GET", normalizePath("/public/../admin")).allowed).toBe(false);
    const dotDot = fc.constantFrom("..", "%2e%2e", "%2E.", ".%2e");
    const plain = fc.constantFrom("a", "b", "x y", "%41", "public", ".", "");
    fc.assert(fc.property(fc.array(plain, { maxLength: 6 }), fc.array(dotDot, { minLength: 8, maxLength: 8 }), (inside, ups) => {
      const depth = 1 + inside.filter((s) => s !== "" && s !== ".").length;
      const raw = `/public/${inside.join("/")}/${ups.slice(0, depth).join("/")}/admin`;
      const path = normalizePath(raw);
      expect(path).toBe("/admin");
      expect(matchPolicies(policies, "GET", path).allowed).toBe(false);
    }), { numRuns: 1000 });
  });
});

describe("normalizePath on paths already in normal form", () => {
  it("gives the path of a normalised path back unchanged, with or without a query", () => {
    fc.assert(fc.property(anyPath, fc.constantFrom("", "?x=1", "?a/../b", "#f"), (raw, suffix) => {
      if (refusal(raw) !== null || raw.includes("?") || raw.includes("#")) return;
      const normal = normalizePath(raw);
      expect(normalizePath(`${normal}${suffix}`)).toBe(normal);
    }), { numRuns: 3000 });
  });

  it("still resolves dot segments, empty segments and escapes that sit among literal characters", () => {
    expect(normalizePath("/api/v0/./rows")).toBe("/api/v0/rows");
    expect(normalizePath("/api/v0/../rows")).toBe("/api/rows");
    expect(normalizePath("/api//v0/")).toBe("/api/v0");
    expect(normalizePath("/api/.")).toBe("/api");
    expect(normalizePath("/api/..")).toBe("/");
    expect(normalizePath("/api/%7Ev0")).toBe("/api/~v0");
    expect(normalizePath("/api/.hidden/..x")).toBe("/api/.hidden/..x");
    expect(normalizePath("/")).toBe("/");
    expect(normalizePath("/?q")).toBe("/");
  });
});
