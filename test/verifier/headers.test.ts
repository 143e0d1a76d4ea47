import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Identity } from "../../src/token/index.ts";
import { clientResponseHeaders, countHeader, repeatedHeader, targetPath, upstreamRequestHeaders } from "../../src/verifier/headers.ts";

const identity: Identity = { apiKey: "reporting", tenant: "acme", jti: "abc", kid: "k1", rule: { policy: "read", index: 0, effect: "Allow" }, issuedAt: 1, expiresAt: null };
const opts = { forwardAuthorization: false, identity, clientAddress: "10.0.0.9", proto: "http", upgrade: false };

function names(raw: string[]): string[] {
  return raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}

/** Random case of a header name: x-keyward-api-key → X-kEyWaRd-API-key. */
const anyCase = (name: string): fc.Arbitrary<string> =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((upper) => Array.from({ length: name.length }, (_, i) => (upper[i] ? name.charAt(i).toUpperCase() : name.charAt(i))).join(""));

describe("upstreamRequestHeaders", () => {
  it("never passes on a client's X-Keyward-* header, whatever its case, and adds the identity once", () => {
    const spoof = fc.oneof(
      fc.constantFrom("x-keyward-api-key", "x-keyward-tenant", "x-keyward-token-id", "x-keyward-admin").chain(anyCase),
      fc.stringMatching(/^[a-z]{1,8}$/).map((s) => `x-keyward-${s}`).chain(anyCase),
    );
    const header = fc.oneof(fc.tuple(spoof, fc.string()), fc.tuple(fc.stringMatching(/^x-[a-z]{1,10}$/), fc.stringMatching(/^[ -~]{0,20}$/)));
    fc.assert(
      fc.property(fc.array(header, { maxLength: 12 }), (pairs) => {
        const out = upstreamRequestHeaders(pairs.flat(), opts);
        const keyward = names(out).filter((n) => n.startsWith("x-keyward-"));
        expect(keyward.sort()).toEqual(["x-keyward-api-key", "x-keyward-tenant", "x-keyward-token-id"]);
        expect(out[out.indexOf("x-keyward-api-key") + 1]).toBe("reporting");
      }),
    );
  });

  it("removes hop-by-hop headers, Proxy-* and whatever Connection names", () => {
    const out = upstreamRequestHeaders(
      ["Host", "svc", "Connection", "close, X-Private", "X-Private", "1", "Keep-Alive", "5", "TE", "trailers", "Trailer", "x", "Transfer-Encoding", "chunked", "Upgrade", "h2c", "Proxy-Authorization", "Basic x", "Proxy-Connection", "keep-alive", "X-Kept", "yes"],
      opts,
    );
    expect(names(out)).toEqual(["host", "x-kept", "transfer-encoding", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-keyward-api-key", "x-keyward-tenant", "x-keyward-token-id"]);
  });

  it("keeps the body's framing whatever Connection names", () => {
    const withLength = upstreamRequestHeaders(["Host", "svc", "Connection", "Content-Length, Transfer-Encoding, Host", "Content-Length", "42"], opts);
    expect(withLength).toEqual(expect.arrayContaining(["Host", "svc", "content-length", "42"]));
    const chunked = upstreamRequestHeaders(["Host", "svc", "Connection", "transfer-encoding", "Transfer-Encoding", "gzip", "Transfer-Encoding", "chunked"], opts);
    expect(chunked).toEqual(expect.arrayContaining(["transfer-encoding", "gzip, chunked"]));
    expect(names(chunked)).not.toContain("content-length");
  });

  it("leaves Transfer-Encoding out for a client that chunks the body again, and keeps Content-Length", () => {
    const chunked = upstreamRequestHeaders(["Host", "svc", "Transfer-Encoding", "chunked"], { ...opts, rechunked: true });
    expect(names(chunked)).not.toContain("transfer-encoding");
    expect(names(chunked)).not.toContain("content-length");
    const sized = upstreamRequestHeaders(["Host", "svc", "Content-Length", "42"], { ...opts, rechunked: true });
    expect(sized).toEqual(expect.arrayContaining(["content-length", "42"]));
  });

  it("keeps Upgrade and Connection: upgrade on the upgrade path only", () => {
    const raw = ["Host", "svc", "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Key", "k"];
    expect(names(upstreamRequestHeaders(raw, opts))).not.toContain("upgrade");
    const up = upstreamRequestHeaders(raw, { ...opts, upgrade: true });
    expect(up).toEqual(expect.arrayContaining(["connection", "upgrade", "upgrade", "websocket", "Sec-WebSocket-Key", "k"]));
  });

  it("drops Authorization unless told to forward it", () => {
    const raw = ["Host", "svc", "Authorization", "Bearer t"];
    expect(names(upstreamRequestHeaders(raw, opts))).not.toContain("authorization");
    expect(upstreamRequestHeaders(raw, { ...opts, forwardAuthorization: true })).toContain("Bearer t");
  });

  it("appends the client to X-Forwarded-For and replaces X-Forwarded-Proto and -Host", () => {
    const out = upstreamRequestHeaders(["Host", "api.example", "X-Forwarded-For", "1.1.1.1", "x-forwarded-for", "2.2.2.2", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil"], opts);
    const get = (n: string): string[] => out.filter((_, i) => i % 2 === 1 && out[i - 1]!.toLowerCase() === n);
    expect(get("x-forwarded-for")).toEqual(["1.1.1.1, 2.2.2.2, 10.0.0.9"]);
    expect(get("x-forwarded-proto")).toEqual(["http"]);
    expect(get("x-forwarded-host")).toEqual(["api.example"]);
  });
});

describe("clientResponseHeaders", () => {
  it("removes hop-by-hop headers and keeps repeated end-to-end ones in order", () => {
    const out = clientResponseHeaders(["Set-Cookie", "a=1", "Connection", "x-debug", "X-Debug", "1", "Transfer-Encoding", "chunked", "Set-Cookie", "b=2"]);
    expect(out).toEqual(["Set-Cookie", "a=1", "Set-Cookie", "b=2"]);
  });
});

describe("targetPath", () => {
  it("takes the path of an origin-form target and refuses any other form", () => {
    expect(targetPath("/a/b?x=1")).toBe("/a/b");
    expect(targetPath("/a/b")).toBe("/a/b");
    expect(targetPath("/a/b?")).toBe("/a/b");
    expect(targetPath("/a#/../../admin")).toBeNull();
    expect(targetPath("/a?x#f")).toBeNull();
    expect(targetPath("http://h/a")).toBeNull();
    expect(targetPath("*")).toBeNull();
    expect(targetPath(undefined)).toBeNull();
  });
});

describe("repeatedHeader", () => {
  it("names a header sent twice, whatever the case of its name", () => {
    expect(repeatedHeader(["Host", "a", "authorization", "Bearer x", "AUTHORIZATION", "Bearer y"], ["authorization", "host"])).toBe("authorization");
  });

  it("reports the first repeated header in the order asked, not in the order sent", () => {
    expect(repeatedHeader(["host", "a", "host", "b", "authorization", "x", "authorization", "y"], ["authorization", "host"])).toBe("authorization");
  });

  it("is null when each header asked for occurs at most once", () => {
    expect(repeatedHeader(["Host", "a", "Authorization", "x", "Accept", "1", "Accept", "2"], ["authorization", "host"])).toBeNull();
  });

  it("agrees with counting each header", () => {
    const name = fc.constantFrom("Host", "host", "Authorization", "AUTHORIZATION", "Accept", "X-Other");
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.string()), { maxLength: 12 }), (pairs) => {
        const raw = pairs.flat();
        const expected = countHeader(raw, "authorization") > 1 ? "authorization" : countHeader(raw, "host") > 1 ? "host" : null;
        expect(repeatedHeader(raw, ["authorization", "host"])).toBe(expected);
      }),
    );
  });
});

describe("upstreamRequestHeaders without a Connection header", () => {
  it("keeps every end-to-end header and adds the identity once", () => {
    const out = upstreamRequestHeaders(["Host", "h", "Accept", "a", "Authorization", "Bearer t"], opts);
    expect(out).toEqual(["Host", "h", "Accept", "a", "x-forwarded-for", "10.0.0.9", "x-forwarded-proto", "http", "x-forwarded-host", "h",
      "x-keyward-api-key", "reporting", "x-keyward-tenant", "acme", "x-keyward-token-id", "abc"]);
  });
});
