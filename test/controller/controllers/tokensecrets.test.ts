import { describe, expect, it } from "vitest";
import type { AccessToken } from "../../../src/api/types.generated.ts";
import { DeletedTokens, deletedTokenRevocations, tokenSecretPending } from "../../../src/controller/controllers/tokensecrets.ts";
import { tokenSecret } from "../../../src/model/access-token/secret.ts";
import type { SecretObject } from "../../../src/model/signing-key/secret.ts";

const NOW = new Date("2026-03-01T00:00:00Z");
const at: AccessToken = {
  apiVersion: "keyward.dev/v1alpha1",
  kind: "AccessToken",
  metadata: { name: "ci", namespace: "acme", uid: "uid-ci" },
  spec: { apiKeyName: "reporting" },
};

function secret(record: { jti: string; kid: string; expiresAt?: string }[], named = record.at(-1)): SecretObject {
  const last = named ?? { jti: "none", kid: "k" };
  return tokenSecret(at, { token: "a.b.c", jti: last.jti, kid: last.kid, expiresAt: last.expiresAt ?? null }, record);
}

function cacheOf(...tokens: AccessToken[]): { accessTokens: { get: (ns: string | undefined, name: string) => AccessToken | undefined } } {
  return { accessTokens: { get: (ns, name) => tokens.find((t) => t.metadata.namespace === ns && t.metadata.name === name) } };
}

describe("deletedTokenRevocations", () => {
  it("revokes every token of the record a verifier may still accept, a token without exp included", () => {
    const s = secret([
      { jti: "old", kid: "k1", expiresAt: "2026-02-28T00:00:00Z" },
      { jti: "live", kid: "k1", expiresAt: "2026-03-01T01:00:00Z" },
      { jti: "forever", kid: "k2" },
    ]);
    expect(deletedTokenRevocations(s, NOW)).toEqual([
      { jti: "live", apiKey: "reporting", exp: Date.parse("2026-03-01T01:00:00Z") / 1000 },
      { jti: "forever", apiKey: "reporting", exp: null },
    ]);
  });

  it("still revokes the token the Secret names when its record was edited away or cannot be read", () => {
    const named = { jti: "current", kid: "k1", expiresAt: "2026-03-01T01:00:00Z" };
    const s = secret([], named);
    expect(deletedTokenRevocations(s, NOW).map((e) => e.jti)).toEqual(["current"]);
    const garbled = { ...s, metadata: { ...s.metadata, annotations: { ...s.metadata.annotations, "keyward.dev/issued": "{not json" } } };
    expect(deletedTokenRevocations(garbled, NOW).map((e) => e.jti)).toEqual(["current"]);
  });
});

describe("tokenSecretPending", () => {
  const s = secret([{ jti: "live", kid: "k1" }]);

  it("leaves alone the Secret of a live AccessToken, and one without the finalizer", () => {
    expect(tokenSecretPending(cacheOf(at), s)).toBe(false);
    expect(tokenSecretPending(cacheOf(), { ...s, metadata: { ...s.metadata, finalizers: [] } })).toBe(false);
  });

  it("looks at a Secret being deleted, one whose AccessToken is gone or being deleted, and one whose AccessToken is a new one of the same name", () => {
    expect(tokenSecretPending(cacheOf(at), { ...s, metadata: { ...s.metadata, deletionTimestamp: NOW.toISOString() } })).toBe(true);
    expect(tokenSecretPending(cacheOf(), s)).toBe(true);
    expect(tokenSecretPending(cacheOf({ ...at, metadata: { ...at.metadata, deletionTimestamp: NOW.toISOString() } }), s)).toBe(true);
    expect(tokenSecretPending(cacheOf({ ...at, metadata: { ...at.metadata, uid: "uid-new" } }), s)).toBe(true);
  });
});

describe("DeletedTokens", () => {
  it("hands each tenant's revocations to the bundle, wakes it only with news, and forgets a Secret once let go", () => {
    const deleted = new DeletedTokens();
    const woken: string[] = [];
    deleted.onChange((tenant) => woken.push(tenant));
    const entry = { jti: "j1", apiKey: "reporting", exp: null };
    deleted.report("acme/ci", [entry]);
    deleted.report("acme/ci", [entry]);
    deleted.report("beta/ci", [{ ...entry, jti: "j2" }]);
    expect(woken).toEqual(["acme", "beta"]);
    expect(deleted.revocations("acme")).toEqual([entry]);
    expect(deleted.secrets("acme")).toEqual(["acme/ci"]);
    deleted.forget("acme/ci");
    expect(deleted.revocations("acme")).toEqual([]);
    expect(deleted.revocations("beta").map((e) => e.jti)).toEqual(["j2"]);
  });
});
