import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { BundleError, buildBundle, jwkThumbprint, parseBundle, validateBundle } from "../../../src/token/index.ts";
import type { BundleErrorCode, PrivateJwk } from "../../../src/token/index.ts";
import { bundleInput, bundleKey, signingKey } from "../support/fixtures.ts";

type Json = Record<string, unknown>;

/** The object at `path` inside `root`. */
function at(root: unknown, ...path: (string | number)[]): Json {
  let v = root;
  for (const step of path) v = (v as Json)[step];
  return v as Json;
}

/** The array at `path` inside `root`. */
function list(root: unknown, ...path: (string | number)[]): unknown[] {
  return at(root, ...path) as unknown as unknown[];
}

let valid: Json;
let ed: PrivateJwk;

beforeAll(async () => {
  const [edKey, es, rs] = await Promise.all([signingKey("EdDSA"), signingKey("ES256"), signingKey("RS256")]);
  ed = edKey;
  const input = bundleInput({
    keys: [bundleKey(ed), bundleKey(es, "reporting", "deposed", "2026-12-29T12:00:00Z"), bundleKey(rs, "billing")],
    revoked: [{ jti: "c29tZS10b2tlbi1pZA", apiKey: "reporting", exp: 1796040000 }],
  });
  valid = JSON.parse(JSON.stringify({ apiVersion: "keyward.dev/bundle/v1", ...input })) as Json;
});

function refusal(mutate: (b: Json) => unknown): BundleError {
  const b = structuredClone(valid);
  const replaced = mutate(b);
  try {
    validateBundle(replaced === undefined ? b : replaced);
  } catch (e) {
    expect(e).toBeInstanceOf(BundleError);
    return e as BundleError;
  }
  throw new Error("the bundle was accepted");
}

describe("validateBundle", () => {
  it("accepts a valid bundle and returns an equal copy", () => {
    const result = validateBundle(valid);
    expect(result).toEqual(valid);
    expect(result).not.toBe(valid);
    expect(result.keys).not.toBe(valid.keys);
  });

  const cases: [string, (b: Json) => unknown, BundleErrorCode, string][] = [
    ["a bundle that is not an object", () => [1, 2], "ERR_BUNDLE_JSON", "$"],
    ["null", () => null, "ERR_BUNDLE_JSON", "$"],
    ["an unknown apiVersion", (b) => { b.apiVersion = "keyward.dev/bundle/v2"; }, "ERR_BUNDLE_API_VERSION", "apiVersion"],
    ["a missing apiVersion", (b) => { delete b.apiVersion; }, "ERR_BUNDLE_API_VERSION", "apiVersion"],
    ["an unknown top-level field", (b) => { b.signature = "x"; }, "ERR_BUNDLE_FIELD", "signature"],
    ["a missing tenant", (b) => { delete b.tenant; }, "ERR_BUNDLE_FIELD", "tenant"],
    ["a tenant that is not a namespace name", (b) => { b.tenant = "Acme_Prod"; }, "ERR_BUNDLE_FIELD", "tenant"],
    ["an issuer of the wrong type", (b) => { b.issuer = 42; }, "ERR_BUNDLE_FIELD", "issuer"],
    ["a negative generation", (b) => { b.generation = -1; }, "ERR_BUNDLE_FIELD", "generation"],
    ["a fractional generation", (b) => { b.generation = 1.5; }, "ERR_BUNDLE_FIELD", "generation"],
    ["a generation as a string", (b) => { b.generation = "42"; }, "ERR_BUNDLE_FIELD", "generation"],
    ["a generatedAt that is not RFC 3339", (b) => { b.generatedAt = "2026-11-29 12:00"; }, "ERR_BUNDLE_FIELD", "generatedAt"],
    ["a generatedAt on a day that does not exist", (b) => { b.generatedAt = "2026-02-30T00:00:00Z"; }, "ERR_BUNDLE_FIELD", "generatedAt"],
    ["keys that are not an array", (b) => { b.keys = {}; }, "ERR_BUNDLE_FIELD", "keys"],
    ["a key that is not an object", (b) => { list(b, "keys")[1] = "key"; }, "ERR_BUNDLE_FIELD", "keys[1]"],
    ["a key without kid", (b) => { delete at(b, "keys", 2).kid; }, "ERR_BUNDLE_FIELD", "keys[2].kid"],
    ["a kid that is not the key's thumbprint", (b) => { at(b, "keys", 0).kid = "my-key"; }, "ERR_BUNDLE_FIELD", "keys[0].kid"],
    ["an unknown key type", (b) => { at(b, "keys", 0).kty = "oct"; }, "ERR_BUNDLE_FIELD", "keys[0].kty"],
    ["a private key member", (b) => { at(b, "keys", 0).d = ed.d; }, "ERR_BUNDLE_FIELD", "keys[0].d"],
    ["an unknown key member", (b) => { at(b, "keys", 0).x5c = ["MII"]; }, "ERR_BUNDLE_FIELD", "keys[0].x5c"],
    ["an alg that does not fit the key type", (b) => { at(b, "keys", 0).alg = "ES256"; }, "ERR_BUNDLE_FIELD", "keys[0].alg"],
    ["a wrong curve", (b) => { at(b, "keys", 1).crv = "P-384"; }, "ERR_BUNDLE_FIELD", "keys[1].crv"],
    ["a public key of the wrong length", (b) => { at(b, "keys", 0).x = "AAAA"; }, "ERR_BUNDLE_FIELD", "keys[0].x"],
    ["a public key in padded base64", (b) => { at(b, "keys", 1).y = `${String(at(b, "keys", 1).y)}=`; }, "ERR_BUNDLE_FIELD", "keys[1].y"],
    ["an RSA modulus below 2048 bits", (b) => {
      at(b, "keys", 2).n = Buffer.alloc(128, 0xc1).toString("base64url");
      at(b, "keys", 2).kid = jwkThumbprint(at(b, "keys", 2) as unknown as PrivateJwk);
    }, "ERR_BUNDLE_FIELD", "keys[2].n"],
    ["a use other than sig", (b) => { at(b, "keys", 0).use = "enc"; }, "ERR_BUNDLE_FIELD", "keys[0].use"],
    ["a key state outside KEY_STATES", (b) => { at(b, "keys", 0).state = "retired"; }, "ERR_BUNDLE_FIELD", "keys[0].state"],
    ["a deposed key without notAfter", (b) => { at(b, "keys", 1).notAfter = null; }, "ERR_BUNDLE_FIELD", "keys[1].notAfter"],
    ["a deposed key with a bad notAfter", (b) => { at(b, "keys", 1).notAfter = "next month"; }, "ERR_BUNDLE_FIELD", "keys[1].notAfter"],
    ["an active key with a notAfter", (b) => { at(b, "keys", 0).notAfter = "2026-12-29T12:00:00Z"; }, "ERR_BUNDLE_FIELD", "keys[0].notAfter"],
    ["a key whose apiKey is missing", (b) => { delete at(b, "keys", 0).apiKey; }, "ERR_BUNDLE_FIELD", "keys[0].apiKey"],
    ["two keys with the same kid", (b) => { list(b, "keys")[2] = list(b, "keys")[0]; }, "ERR_BUNDLE_DUPLICATE_KID", "keys[2].kid"],
    ["a key whose apiKey is not in apiKeys", (b) => { at(b, "keys", 2).apiKey = "ghost"; }, "ERR_BUNDLE_UNKNOWN_API_KEY", "keys[2].apiKey"],
    ["apiKeys that are not an object", (b) => { b.apiKeys = []; }, "ERR_BUNDLE_FIELD", "apiKeys"],
    ["an ApiKey name that is not a DNS-1123 subdomain", (b) => { at(b, "apiKeys").Bad_Name = at(b, "apiKeys", "billing"); }, "ERR_BUNDLE_FIELD", "apiKeys.Bad_Name"],
    ["an ApiKey without uid", (b) => { delete at(b, "apiKeys", "reporting").uid; }, "ERR_BUNDLE_FIELD", "apiKeys.reporting.uid"],
    ["an ApiKey with an unknown field", (b) => { at(b, "apiKeys", "reporting").secret = "s"; }, "ERR_BUNDLE_FIELD", "apiKeys.reporting.secret"],
    ["a suspended flag that is not a boolean", (b) => { at(b, "apiKeys", "reporting").suspended = "false"; }, "ERR_BUNDLE_FIELD", "apiKeys.reporting.suspended"],
    ["an allowNonExpiring flag that is missing", (b) => { delete at(b, "apiKeys", "billing").allowNonExpiring; }, "ERR_BUNDLE_FIELD", "apiKeys.billing.allowNonExpiring"],
    ["a revokedBefore that is not RFC 3339", (b) => { at(b, "apiKeys", "reporting").revokedBefore = 1764417600; }, "ERR_BUNDLE_FIELD", "apiKeys.reporting.revokedBefore"],
    ["an ApiKey naming an unknown policy", (b) => { at(b, "apiKeys", "reporting").policies = ["datagrid-read", "datagrid-write"]; }, "ERR_BUNDLE_UNKNOWN_POLICY", "apiKeys.reporting.policies[1]"],
    ["an ApiKey naming a policy twice", (b) => { at(b, "apiKeys", "reporting").policies = ["datagrid-read", "datagrid-read"]; }, "ERR_BUNDLE_FIELD", "apiKeys.reporting.policies[1]"],
    ["an ApiKey name with a dot, quoted in the path", (b) => { at(b, "apiKeys")["team.reporting"] = { ...at(b, "apiKeys", "billing"), uid: 7 }; }, "ERR_BUNDLE_FIELD", "apiKeys[\"team.reporting\"].uid"],
    ["a policy without rules", (b) => { at(b, "policies")["datagrid-read"] = {}; }, "ERR_BUNDLE_FIELD", "policies.datagrid-read.rules"],
    ["a rule effect other than Allow or Deny", (b) => { at(b, "policies", "datagrid-read", "rules", 1).effect = "allow"; }, "ERR_BUNDLE_FIELD", "policies.datagrid-read.rules[1].effect"],
    ["a lower-case method", (b) => { at(b, "policies", "datagrid-read", "rules", 0).methods = ["get"]; }, "ERR_BUNDLE_FIELD", "policies.datagrid-read.rules[0].methods[0]"],
    ["a rule without methods", (b) => { at(b, "policies", "datagrid-read", "rules", 0).methods = []; }, "ERR_BUNDLE_FIELD", "policies.datagrid-read.rules[0].methods"],
    ["a rule without paths", (b) => { at(b, "policies", "datagrid-read", "rules", 0).paths = []; }, "ERR_BUNDLE_FIELD", "policies.datagrid-read.rules[0].paths"],
    ["an invalid path pattern", (b) => { at(b, "policies", "datagrid-read", "rules", 0).paths = ["/api/v0/**", "/api/v*"]; }, "ERR_BUNDLE_FIELD", "policies.datagrid-read.rules[0].paths[1]"],
    ["revoked that is not an array", (b) => { b.revoked = null; }, "ERR_BUNDLE_FIELD", "revoked"],
    ["a revoked entry without jti", (b) => { delete at(b, "revoked", 0).jti; }, "ERR_BUNDLE_FIELD", "revoked[0].jti"],
    ["a revoked entry with a fractional exp", (b) => { at(b, "revoked", 0).exp = 1.5; }, "ERR_BUNDLE_FIELD", "revoked[0].exp"],
    ["a revoked entry whose apiKey is not in apiKeys", (b) => { at(b, "revoked", 0).apiKey = "ghost"; }, "ERR_BUNDLE_UNKNOWN_API_KEY", "revoked[0].apiKey"],
  ];

  it.each(cases)("refuses %s", (_name, mutate, code, field) => {
    const error = refusal(mutate);
    expect(error.code).toBe(code);
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
  });

  it("never puts a private key member's value in its error", () => {
    const error = refusal((b) => { at(b, "keys", 0).d = ed.d; });
    expect(error.message).not.toContain(ed.d);
  });

  it("throws nothing but BundleError for any JSON value", () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      expect(() => validateBundle(value)).toThrow(BundleError);
    }));
  });

  it("throws nothing but BundleError when any one field is replaced by any JSON value", () => {
    const paths: (string | number)[][] = [];
    const walk = (v: unknown, path: (string | number)[]): void => {
      paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => { walk(x, [...path, i]); });
      else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    };
    walk(valid, []);
    fc.assert(fc.property(fc.constantFrom(...paths.filter((p) => p.length > 0)), fc.jsonValue(), (path, replacement) => {
      const b = structuredClone(valid);
      at(b, ...path.slice(0, -1))[path.at(-1)!] = replacement;
      try {
        validateBundle(b);
      } catch (e) {
        expect(e).toBeInstanceOf(BundleError);
      }
    }), { numRuns: 1000 });
  });
});

describe("parseBundle", () => {
  it("refuses text that is not JSON with ERR_BUNDLE_JSON", () => {
    for (const text of ["", "{", "apiVersion: keyward.dev/bundle/v1", "{\"a\":1}}"]) {
      try {
        parseBundle(text);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(BundleError);
        expect((e as BundleError).code).toBe("ERR_BUNDLE_JSON");
        expect((e as BundleError).field).toBe("$");
      }
    }
  });

  it("validates what it parses", () => {
    expect(() => parseBundle(JSON.stringify({ ...valid, tenant: "" }))).toThrow(/^tenant: /);
  });
});

describe("buildBundle", () => {
  it("refuses content the verifier would refuse", () => {
    const { apiVersion: _v, ...input } = structuredClone(valid);
    at(input, "keys", 0).d = ed.d;
    expect(() => buildBundle(input as Parameters<typeof buildBundle>[0])).toThrow(BundleError);
  });
});
