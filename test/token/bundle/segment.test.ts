import { describe, expect, it } from "vitest";
import { BundleError, assembleBundle, buildBundle, parseBundle, parseSegment, segmentDigest, segmentRevocations, serializeBundle, serializeSegment } from "../../../src/token/index.ts";
import type { Bundle, RevokedEntry } from "../../../src/token/index.ts";
import { apiKeyEntry, bundleInput, bundleKey, signingKey, TENANT } from "../support/fixtures.ts";

const ENTRIES: RevokedEntry[] = [
  { jti: "bbbbbbbbbbbbbbbbbbbbbb", apiKey: "reporting", exp: 1796040000 },
  { jti: "aaaaaaaaaaaaaaaaaaaaaa", apiKey: "reporting", exp: null },
  { jti: "cccccccccccccccccccccc", apiKey: "billing", exp: 1796040001 },
];

async function headWith(segments: Record<string, string>, extra: Partial<Bundle> = {}): Promise<Bundle> {
  const key = await signingKey("EdDSA");
  return buildBundle({
    ...bundleInput({ keys: [bundleKey(key)], apiKeys: { reporting: apiKeyEntry() }, revoked: [{ jti: "head-jti", apiKey: "reporting", exp: 1796040000 }] }),
    revokedSegments: Object.entries(segments).map(([name, text]) => ({ name, sha256: segmentDigest(text), count: parseSegment(text, name).revoked.length })),
    ...extra,
  });
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BundleError);
    return (e as BundleError).code;
  }
  throw new Error("did not throw");
}

describe("revocation segments", () => {
  it("serializes the same entries to the same text whatever their order", () => {
    expect(serializeSegment(TENANT, ENTRIES)).toBe(serializeSegment(TENANT, [...ENTRIES].reverse()));
    expect(serializeSegment(TENANT, ENTRIES)).toBe(
      `{"apiVersion":"keyward.dev/bundle-segment/v1","tenant":"${TENANT}","revoked":{"billing":{"cccccccccccccccccccccc":1796040001},"reporting":{"aaaaaaaaaaaaaaaaaaaaaa":null,"bbbbbbbbbbbbbbbbbbbbbb":1796040000}}}`,
    );
  });

  it("keeps a jti listed twice once, with the later exp", () => {
    const text = serializeSegment(TENANT, [ENTRIES[0]!, { ...ENTRIES[0]!, exp: 1796049999 }, { ...ENTRIES[0]!, exp: 1 }]);
    expect(parseSegment(text, "s").revoked).toEqual([{ ...ENTRIES[0]!, exp: 1796049999 }]);
  });

  it("reads back every entry it wrote", () => {
    const read = parseSegment(serializeSegment(TENANT, ENTRIES), "s");
    expect(read.tenant).toBe(TENANT);
    expect(new Set(read.revoked.map((r) => `${r.apiKey}/${r.jti}/${r.exp}`))).toEqual(new Set(ENTRIES.map((r) => `${r.apiKey}/${r.jti}/${r.exp}`)));
  });

  it("refuses a segment that is not bundle segment v1, naming the ConfigMap and the field", () => {
    for (const [text, code, field] of [
      ["{", "ERR_BUNDLE_JSON", "keyward-bundle-revoked-3:$"],
      [`{"apiVersion":"keyward.dev/bundle-segment/v2","tenant":"acme","revoked":{}}`, "ERR_BUNDLE_API_VERSION", "keyward-bundle-revoked-3:apiVersion"],
      [`{"apiVersion":"keyward.dev/bundle-segment/v1","tenant":"acme","revoked":{},"extra":1}`, "ERR_BUNDLE_FIELD", "keyward-bundle-revoked-3:$.extra"],
      [`{"apiVersion":"keyward.dev/bundle-segment/v1","tenant":"acme","revoked":{"Bad Name":{}}}`, "ERR_BUNDLE_FIELD", `keyward-bundle-revoked-3:revoked["Bad Name"]`],
      [`{"apiVersion":"keyward.dev/bundle-segment/v1","tenant":"acme","revoked":{"k":{"j":-1}}}`, "ERR_BUNDLE_FIELD", "keyward-bundle-revoked-3:revoked.k.j"],
      [`{"apiVersion":"keyward.dev/bundle-segment/v1","tenant":"acme","revoked":{"k":{"j":"1"}}}`, "ERR_BUNDLE_FIELD", "keyward-bundle-revoked-3:revoked.k.j"],
    ] as const) {
      try {
        parseSegment(text, "keyward-bundle-revoked-3");
        throw new Error(`accepted ${text}`);
      } catch (e) {
        expect(e).toBeInstanceOf(BundleError);
        expect([(e as BundleError).code, (e as BundleError).field]).toEqual([code, field]);
      }
    }
  });

  it("changes its digest when one byte changes", () => {
    const text = serializeSegment(TENANT, ENTRIES);
    expect(segmentDigest(text)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(segmentDigest(text.replace("1796040001", "1796040002"))).not.toBe(segmentDigest(text));
  });
});

describe("a head naming segments", () => {
  it("is written without revokedSegments when it names none, as bundles were before segments", async () => {
    const key = await signingKey("EdDSA");
    const plain = buildBundle({ ...bundleInput({ keys: [bundleKey(key)] }), revokedSegments: [] });
    expect(serializeBundle(plain)).not.toContain("revokedSegments");
    expect(plain.revokedSegments).toBeUndefined();
  });

  it("round-trips its segment references, sorted by name", async () => {
    const a = serializeSegment(TENANT, ENTRIES.slice(0, 1));
    const b = serializeSegment(TENANT, ENTRIES.slice(1));
    const head = await headWith({ "keyward-bundle-revoked-2": b, "keyward-bundle-revoked-1": a });
    expect(head.revokedSegments?.map((s) => s.name)).toEqual(["keyward-bundle-revoked-1", "keyward-bundle-revoked-2"]);
    expect(parseBundle(serializeBundle(head))).toEqual(head);
  });

  it("refuses a reference without a SHA-256 of 32 bytes, an empty one, a name twice or an empty list", async () => {
    const text = serializeSegment(TENANT, ENTRIES);
    const head = JSON.parse(serializeBundle(await headWith({ "keyward-bundle-revoked-1": text }))) as { revokedSegments: unknown[] };
    const ref = head.revokedSegments[0] as Record<string, unknown>;
    const bad = (refs: unknown): string => codeOf(() => parseBundle(JSON.stringify({ ...head, revokedSegments: refs })));
    expect(bad([{ ...ref, sha256: "abc" }])).toBe("ERR_BUNDLE_FIELD");
    expect(bad([{ ...ref, count: 0 }])).toBe("ERR_BUNDLE_FIELD");
    expect(bad([ref, ref])).toBe("ERR_BUNDLE_FIELD");
    expect(bad([])).toBe("ERR_BUNDLE_FIELD");
    expect(bad([{ ...ref, name: "Not A Name" }])).toBe("ERR_BUNDLE_FIELD");
  });
});

describe("assembling a bundle from its head and segments", () => {
  it("enforces the head's revocations and every segment's, for the ApiKeys the head lists", async () => {
    const text = serializeSegment(TENANT, ENTRIES);
    const head = await headWith({ "keyward-bundle-revoked-1": text });
    const whole = assembleBundle(head, (name) => (name === "keyward-bundle-revoked-1" ? text : undefined));
    // "billing" is not in the head's apiKeys: no key is left that its token could match.
    expect(whole.revoked.map((r) => r.jti).sort()).toEqual(["aaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbb", "head-jti"]);
    expect(segmentRevocations(head, () => text)).toHaveLength(3);
  });

  it("returns a head that names no segment as it is", async () => {
    const key = await signingKey("EdDSA");
    const head = buildBundle(bundleInput({ keys: [bundleKey(key)] }));
    expect(assembleBundle(head, () => undefined)).toBe(head);
  });

  it("refuses a missing segment, one with other bytes, another tenant's or another count", async () => {
    const text = serializeSegment(TENANT, ENTRIES);
    const head = await headWith({ "keyward-bundle-revoked-1": text });
    expect(codeOf(() => assembleBundle(head, () => undefined))).toBe("ERR_BUNDLE_SEGMENT_MISSING");
    // One revocation taken out by an editor: the bytes differ from those the signed head names.
    const edited = serializeSegment(TENANT, ENTRIES.slice(1));
    expect(codeOf(() => assembleBundle(head, () => edited))).toBe("ERR_BUNDLE_SEGMENT_DIGEST");
    const other = serializeSegment("other", ENTRIES);
    const forOther = await headWith({ "keyward-bundle-revoked-1": other });
    expect(codeOf(() => assembleBundle(forOther, () => other))).toBe("ERR_BUNDLE_SEGMENT_DIGEST");
    const miscounted: Bundle = { ...head, revokedSegments: [{ ...head.revokedSegments![0]!, count: 2 }] };
    expect(codeOf(() => assembleBundle(miscounted, () => text))).toBe("ERR_BUNDLE_SEGMENT_DIGEST");
  });
});
