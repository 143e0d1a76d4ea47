import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { buildBundle, parseBundle, serializeBundle } from "../../../src/token/index.ts";
import type { Bundle, BundleKey, PrivateJwk } from "../../../src/token/index.ts";
import { apiKeyEntry, bundleInput, bundleKey, READ_POLICY, signingKey } from "../support/fixtures.ts";

let keys: BundleKey[];
let bundle: Bundle;

beforeAll(async () => {
  const [ed, es, rs, other]: PrivateJwk[] = await Promise.all([
    signingKey("EdDSA"), signingKey("ES256"), signingKey("RS256"), signingKey("EdDSA", "billing"),
  ]);
  keys = [bundleKey(ed!), bundleKey(es!, "reporting", "deposed", "2026-12-29T12:00:00Z"), bundleKey(rs!, "billing", "prepared"), bundleKey(other!, "billing")];
  bundle = buildBundle(bundleInput({
    keys,
    apiKeys: {
      reporting: apiKeyEntry({ policies: ["datagrid-read", "audit"], revokedBefore: "2026-11-01T00:00:00Z" }),
      billing: apiKeyEntry({ policies: [], allowNonExpiring: true, suspended: true }),
    },
    policies: { "datagrid-read": READ_POLICY, audit: { rules: [{ effect: "Allow", methods: ["*"], paths: ["/audit/**"] }] } },
    revoked: [{ jti: "zz", apiKey: "billing", exp: null }, { jti: "aa", apiKey: "reporting", exp: 1796040000 }],
  }));
});

describe("serializeBundle", () => {
  it("round-trips through parseBundle", () => {
    expect(parseBundle(serializeBundle(bundle))).toEqual(bundle);
  });

  it("writes compact JSON with the apiVersion first and keys sorted by ApiKey and kid", () => {
    const text = serializeBundle(bundle);
    expect(text.startsWith("{\"apiVersion\":\"keyward.dev/bundle/v1\",\"tenant\":\"acme\",")).toBe(true);
    expect(text).not.toContain("\n");
    const parsed = parseBundle(text);
    const order = parsed.keys.map((k) => `${k.apiKey}/${k.kid}`);
    expect(order).toEqual([...order].sort());
    expect(Object.keys(parsed.apiKeys)).toEqual(["billing", "reporting"]);
    expect(Object.keys(parsed.policies)).toEqual(["audit", "datagrid-read"]);
    expect(parsed.revoked.map((r) => r.jti)).toEqual(["zz", "aa"]);
  });

  it("keeps the order of rules and of an ApiKey's policies, which carry meaning", () => {
    const parsed = parseBundle(serializeBundle(bundle));
    expect(parsed.apiKeys.reporting!.policies).toEqual(["datagrid-read", "audit"]);
    expect(parsed.policies["datagrid-read"]!.rules.map((r) => r.effect)).toEqual(["Allow", "Deny"]);
  });

  it("gives equal text for equal content in any order", () => {
    fc.assert(fc.property(fc.shuffledSubarray(keys, { minLength: keys.length }), fc.boolean(), (shuffled, reverseMaps) => {
      const reorder = <T>(record: Record<string, T>): Record<string, T> =>
        Object.fromEntries(reverseMaps ? Object.entries(record).reverse() : Object.entries(record));
      const other: Bundle = {
        ...bundle,
        keys: shuffled.map((k) => Object.fromEntries(Object.entries(k).reverse()) as unknown as BundleKey),
        apiKeys: reorder(bundle.apiKeys),
        policies: reorder(bundle.policies),
        revoked: [...bundle.revoked].reverse(),
      };
      expect(serializeBundle(other)).toBe(serializeBundle(bundle));
    }));
  });
});

describe("buildBundle", () => {
  it("sorts keys, apiKeys, policies and revoked deterministically", () => {
    const reversed = buildBundle({ ...bundle, keys: [...bundle.keys].reverse(), revoked: [...bundle.revoked].reverse() });
    expect(reversed).toEqual(bundle);
    expect(JSON.stringify(reversed)).toBe(serializeBundle(bundle));
  });

  it("sets the apiVersion", () => {
    expect(bundle.apiVersion).toBe("keyward.dev/bundle/v1");
  });
});
