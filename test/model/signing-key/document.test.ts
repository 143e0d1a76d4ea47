import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  parseSigningKeys,
  serializeSigningKeys,
  SigningKeyDocumentError,
  type SigningKeyDocument,
} from "../../../src/model/signing-key/document.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import type { PrivateJwk } from "../../../src/token/types.ts";

let ed: PrivateJwk;
let ec: PrivateJwk;
let rsa: PrivateJwk;
beforeAll(async () => {
  [ed, ec, rsa] = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("ES256"), generateSigningKey("RS256")]);
});

function doc(): SigningKeyDocument {
  return {
    version: 1,
    keys: [
      { jwk: ec, state: "prepared", createdAt: "2026-01-31T00:00:00Z", activatesAt: "2026-01-31T00:05:00Z", notAfter: null },
      { jwk: ed, state: "active", createdAt: "2026-01-01T00:00:00Z", activatesAt: "2026-01-01T00:00:00Z", notAfter: null },
      { jwk: rsa, state: "deposed", createdAt: "2025-12-01T00:00:00Z", activatesAt: "2025-12-01T00:05:00Z", notAfter: "2026-01-31T00:00:00Z" },
    ],
    lastRotationTime: "2026-01-31T00:00:00Z",
    observedRequests: { rotate: "1" },
    revokedBefore: null,
  };
}

interface RawKey {
  jwk: Record<string, unknown>;
  state: unknown;
  createdAt: unknown;
  activatesAt: unknown;
  notAfter: unknown;
}
interface RawDoc {
  version: unknown;
  keys: RawKey[];
  lastRotationTime?: unknown;
  observedRequests: Record<string, unknown>;
  revokedBefore: unknown;
}

/** The document as JSON with `edit` applied to it. */
function edited(edit: (raw: RawDoc, key: (i: number) => RawKey) => void): string {
  const raw = JSON.parse(serializeSigningKeys(doc())) as RawDoc;
  edit(raw, (i) => {
    const k = raw.keys[i];
    if (k === undefined) throw new Error(`no key ${i}`);
    return k;
  });
  return JSON.stringify(raw);
}

function errorOf(text: string): SigningKeyDocumentError {
  try {
    parseSigningKeys(text);
  } catch (err) {
    if (err instanceof SigningKeyDocumentError) return err;
    throw err;
  }
  throw new Error("expected the document to be refused");
}

describe("the signing-key document", () => {
  it("reads back what it writes, for every algorithm", () => {
    expect(parseSigningKeys(serializeSigningKeys(doc()))).toEqual(doc());
  });

  it("writes the same text for the same document whatever the order of its keys and members", () => {
    const shuffled = doc();
    shuffled.keys.reverse();
    shuffled.keys[0] = { ...shuffled.keys[0]!, jwk: Object.fromEntries(Object.entries(rsa).reverse()) as unknown as PrivateJwk };
    expect(serializeSigningKeys(shuffled)).toBe(serializeSigningKeys(doc()));
  });

  it.each<[string, (raw: RawDoc, key: (i: number) => RawKey) => void, string]>([
    ["a version it does not know", (r) => (r.version = 2), "version"],
    ["no keys", (r) => (r.keys = []), "keys"],
    ["four keys", (r, k) => r.keys.push(k(1)), "keys"],
    ["two active keys", (_r, k) => (k(0).state = "active"), "keys"],
    ["no active key", (_r, k) => (k(1).state = "prepared"), "keys"],
    ["an unknown state", (_r, k) => (k(0).state = "retired"), "keys[0].state"],
    ["a deposed key without notAfter", (_r, k) => (k(2).notAfter = null), "keys[2].notAfter"],
    ["an active key with notAfter", (_r, k) => (k(1).notAfter = "2026-01-01T00:00:00Z"), "keys[1].notAfter"],
    ["a time that is not RFC 3339", (_r, k) => (k(1).createdAt = "Jan 1 2026"), "keys[1].createdAt"],
    ["a kid that is not the key's thumbprint", (_r, k) => (k(1).jwk.kid = k(0).jwk.kid), "keys[1].jwk.kid"],
    ["a key without its private member", (_r, k) => delete k(1).jwk.d, "keys[1].jwk.d"],
    ["an algorithm that does not match the key type", (_r, k) => (k(1).jwk.alg = "ES256"), "keys[1].jwk.kty"],
    ["a symmetric key", (_r, k) => (k(1).jwk = { kty: "oct", k: "c2VjcmV0", alg: "HS256", kid: "x", use: "sig" }), "keys[1].jwk.alg"],
    ["a request value that is not a string", (r) => (r.observedRequests.rotate = 1), "observedRequests.rotate"],
    ["no lastRotationTime", (r) => delete r.lastRotationTime, "lastRotationTime"],
  ])("refuses a document with %s, naming the field", (_what, edit, field) => {
    expect(errorOf(edited(edit)).field).toBe(field);
  });

  it("refuses two keys with the same kid", () => {
    const text = edited((r, k) => {
      r.keys[0] = { ...k(1), state: "prepared" };
    });
    expect(errorOf(text).field).toBe("keys[1].jwk.kid");
  });

  it("refuses text that is not JSON without quoting it", () => {
    const err = errorOf(`{"d":"${ed.d}"`);
    expect(err.code).toBe("ERR_SIGNING_KEY_DOCUMENT");
    expect(err.message).toBe("$: is not JSON");
  });

  it("never quotes key material in its errors", () => {
    const err = errorOf(edited((_r, k) => (k(1).jwk.x = "not base64url!")));
    expect(err.field).toBe("keys[1].jwk.x");
    expect(err.message).not.toContain(ed.d);
  });

  it("drops members that do not belong to the key type", () => {
    const parsed = parseSigningKeys(edited((_r, k) => (k(1).jwk.n = "AQAB")));
    expect(parsed.keys[1]?.jwk).toEqual(ed);
  });

  it("answers any JSON with a document or a SigningKeyDocumentError, nothing else", () => {
    const valid = JSON.parse(serializeSigningKeys(doc())) as Record<string, unknown>;
    const anyDocument = fc.oneof(
      fc.jsonValue(),
      fc.record({ version: fc.constant(1), keys: fc.array(fc.jsonValue(), { maxLength: 4 }), lastRotationTime: fc.jsonValue() }),
      fc.dictionary(fc.constantFrom("version", "keys", "lastRotationTime", "observedRequests", "revokedBefore"), fc.jsonValue()).map((edit) => ({
        ...valid,
        ...edit,
      })),
    );
    fc.assert(
      fc.property(anyDocument, (value) => {
        try {
          const parsed = parseSigningKeys(JSON.stringify(value));
          expect(parsed.keys.filter((k) => k.state === "active")).toHaveLength(1);
        } catch (err) {
          expect(err).toBeInstanceOf(SigningKeyDocumentError);
        }
      }),
    );
  });
});
