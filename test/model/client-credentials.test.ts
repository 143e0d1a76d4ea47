import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { clientSecretMatches, hashClientSecret, newClientSecret, parseClientId } from "../../src/model/client-credentials.ts";

describe("client secrets", () => {
  it("are 256 random bits in base64url, and compare by hash", () => {
    const s = newClientSecret();
    expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(s, "base64url")).toHaveLength(32);
    expect(newClientSecret()).not.toBe(s);
    expect(clientSecretMatches(s, hashClientSecret(s))).toBe(true);
    expect(clientSecretMatches(`${s}x`, hashClientSecret(s))).toBe(false);
    expect(clientSecretMatches(s, "abc")).toBe(false);
  });

  it("never match another secret's hash", () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => a === b || !clientSecretMatches(a, hashClientSecret(b))));
  });
});

describe("parseClientId", () => {
  it("splits <namespace>/<apikey> and refuses anything else", () => {
    expect(parseClientId("acme/ingest")).toEqual({ tenant: "acme", apiKey: "ingest" });
    expect(parseClientId("acme/ingest.v2")).toEqual({ tenant: "acme", apiKey: "ingest.v2" });
    for (const bad of ["", "acme", "/ingest", "acme/", "Acme/ingest", "acme/in/gest", "acme/../x", "a.b/ingest", `${"a".repeat(64)}/x`]) expect(parseClientId(bad), bad).toBeNull();
  });

  it("accepts exactly what it can give back", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const id = parseClientId(s);
        return id === null || `${id.tenant}/${id.apiKey}` === s;
      }),
    );
  });
});
