// The token-security suite: every attack and every rule of the verifier's
// checks, one test each, through TokenVerifier.verify.

import { beforeAll, describe, expect, it } from "vitest";
import {
  ALGORITHMS, buildBundle, issueAccessToken, TokenVerifier, VerificationError,
} from "../../../src/token/index.ts";
import type { CompiledBundle, PrivateJwk, RequestInfo, VerificationCode, VerifyResult } from "../../../src/token/index.ts";
import {
  apiKeyEntry, bundleInput, bundleKey, claimsFor, encodePart, forge, forgeHs256WithPublicKey, headerFor, HOUR, ISSUER, TENANT_ISSUER,
  NOW_MS, NOW_S, signingKey, TENANT,
} from "../support/fixtures.ts";
import type { BundleParts } from "../support/fixtures.ts";

const GET: RequestInfo = { method: "GET", path: "/api/v0/datagrid/rows" };

let ed: PrivateJwk;
let es: PrivateJwk;
let rs: PrivateJwk;
let billing: PrivateJwk;
let stranger: PrivateJwk;

beforeAll(async () => {
  [ed, es, rs, billing, stranger] = await Promise.all([
    signingKey("EdDSA"), signingKey("ES256"), signingKey("RS256"), signingKey("EdDSA", "billing"), signingKey("EdDSA", "stranger"),
  ]);
});

function load(parts: Partial<BundleParts> = {}, verifier = new TokenVerifier()): { verifier: TokenVerifier; bundle: CompiledBundle } {
  const keys = parts.keys ?? [bundleKey(ed), bundleKey(es), bundleKey(rs), bundleKey(billing, "billing")];
  return { verifier, bundle: verifier.load(buildBundle(bundleInput({ ...parts, keys }))) };
}

function verify(token: string | undefined, parts: Partial<BundleParts> = {}, at = NOW_MS, request = GET, using = new TokenVerifier()): VerifyResult {
  const { verifier, bundle } = load(parts, using);
  return verifier.verify(token, request, bundle, at);
}

function expectRefused(result: VerifyResult, code: VerificationCode): VerificationError {
  if (result.ok) throw new Error(`expected ${code}, but the token was accepted`);
  expect(result.error).toBeInstanceOf(VerificationError);
  expect(result.error.code).toBe(code);
  return result.error;
}

async function issued(key: PrivateJwk, lifetimeSeconds: number | null = HOUR, apiKey = "reporting", now = NOW_MS): Promise<string> {
  return (await issueAccessToken({ key, issuer: TENANT_ISSUER, apiKey, tenant: TENANT, now: new Date(now), lifetimeSeconds })).token;
}

describe("the token-security suite", () => {
  it("refuses alg none with ERR_ALG_MISMATCH", () => {
    const token = `${encodePart(headerFor(ed, { alg: "none" }))}.${encodePart(claimsFor())}.`;
    expectRefused(verify(token), "ERR_ALG_MISMATCH");
  });

  it("refuses an HS256 token whose HMAC secret is the public key's bytes", () => {
    const token = forgeHs256WithPublicKey(ed, headerFor(ed, { alg: "HS256" }), claimsFor());
    expectRefused(verify(token), "ERR_ALG_MISMATCH");
  });

  it("refuses an RS256 token under an Ed25519 kid", () => {
    const token = forge(rs, headerFor(ed, { alg: "RS256" }), claimsFor());
    expectRefused(verify(token), "ERR_ALG_MISMATCH");
  });

  it("refuses a token whose kid is not in the bundle", () => {
    const token = forge(stranger, headerFor(stranger), claimsFor());
    const result = verify(token);
    expectRefused(result, "ERR_KEY_UNKNOWN");
    expect(!result.ok && result.context).toEqual({ kid: stranger.kid });
  });

  it("refuses a token whose kid belongs to another ApiKey than its sub", () => {
    const token = forge(billing, headerFor(billing), claimsFor({ sub: "reporting", client_id: "reporting" }));
    const result = verify(token);
    expectRefused(result, "ERR_KEY_SUBJECT_MISMATCH");
    expect(!result.ok && result.context.apiKey).toBe("billing");
  });

  it("refuses a token whose client_id differs from its sub", () => {
    expectRefused(verify(forge(ed, headerFor(ed), claimsFor({ client_id: "billing" }))), "ERR_KEY_SUBJECT_MISMATCH");
  });

  it("refuses a jku header", () => {
    expectRefused(verify(forge(ed, headerFor(ed, { jku: "https://evil.example/jwks.json" }), claimsFor())), "ERR_HEADER_UNSUPPORTED");
  });

  it("refuses an x5u header", () => {
    expectRefused(verify(forge(ed, headerFor(ed, { x5u: "https://evil.example/cert.pem" }), claimsFor())), "ERR_HEADER_UNSUPPORTED");
  });

  it("refuses an embedded jwk header, even one holding the right key", () => {
    const { kty, crv, x } = ed;
    expectRefused(verify(forge(ed, headerFor(ed, { jwk: { kty, crv, x } }), claimsFor())), "ERR_HEADER_UNSUPPORTED");
  });

  it("refuses a crit header", () => {
    expectRefused(verify(forge(ed, headerFor(ed, { crit: ["exp"] }), claimsFor())), "ERR_HEADER_UNSUPPORTED");
  });

  it("refuses parts that are not strict base64url", async () => {
    const [h, c, s] = (await issued(ed)).split(".") as [string, string, string];
    for (const token of [`${h}=.${c}.${s}`, `${h}.${c}.${s}==`, `${h} .${c}.${s}`, `${h}.${c.replace(/-/g, "+").replace(/_/g, "/")}x+/.${s}`, `${h}.${c}`, `${h}.${c}.${s}.${s}`]) {
      expectRefused(verify(token), "ERR_TOKEN_MALFORMED");
    }
  });

  it("refuses a non-canonical base64url encoding of a valid signature", async () => {
    const token = await issued(ed);
    // An Ed25519 signature is 64 bytes: 86 characters, the last carrying 2 unused bits.
    const last = token.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sibling = alphabet[alphabet.indexOf(last) + 1]!;
    expect(Buffer.from(token.slice(token.lastIndexOf(".") + 1, -1) + sibling, "base64url")).toEqual(
      Buffer.from(token.slice(token.lastIndexOf(".") + 1), "base64url"),
    );
    expectRefused(verify(token.slice(0, -1) + sibling), "ERR_TOKEN_MALFORMED");
  });

  it("refuses a header or claims that are not JSON objects", () => {
    const claims = encodePart(claimsFor());
    const header = encodePart(headerFor(ed));
    for (const token of [`${encodePart("{\"alg\":")}.${claims}.AAAA`, `${header}.${encodePart("[1,2]")}.AAAA`, `${encodePart("null")}.${claims}.AAAA`,
      `${header}.${Buffer.from([0xff, 0xfe, 0x7b, 0x7d]).toString("base64url")}.AAAA`]) {
      expectRefused(verify(token), "ERR_TOKEN_MALFORMED");
    }
  });

  it("refuses a token longer than the size bound before decoding it", () => {
    const verifier = new TokenVerifier({ maxTokenBytes: 1024 });
    const { bundle } = load({}, verifier);
    const token = forge(ed, headerFor(ed), claimsFor({ pad: "x".repeat(2000) }));
    expectRefused(verifier.verify(token, GET, bundle, NOW_MS), "ERR_TOKEN_TOO_LARGE");
    expectRefused(verifier.verify("x".repeat(1025), GET, bundle, NOW_MS), "ERR_TOKEN_TOO_LARGE");
  });

  it("refuses a request without a token", () => {
    expectRefused(verify(undefined), "ERR_TOKEN_MISSING");
    expectRefused(verify(""), "ERR_TOKEN_MISSING");
  });

  it("refuses an expired token once the leeway has passed", async () => {
    const token = await issued(ed, HOUR);
    expectRefused(verify(token, {}, NOW_MS + (HOUR + 30) * 1000), "ERR_TOKEN_EXPIRED");
  });

  it("accepts an expired token within the leeway", async () => {
    const token = await issued(ed, HOUR);
    expect(verify(token, {}, NOW_MS + (HOUR + 29) * 1000).ok).toBe(true);
  });

  it("refuses a token whose nbf is in the future beyond the leeway", () => {
    expectRefused(verify(forge(ed, headerFor(ed), claimsFor({ nbf: NOW_S + 31 }))), "ERR_TOKEN_NOT_YET_VALID");
  });

  it("refuses a token issued in the future beyond the leeway", () => {
    expectRefused(verify(forge(ed, headerFor(ed), claimsFor({ iat: NOW_S + 31 }))), "ERR_TOKEN_ISSUED_IN_FUTURE");
  });

  it("refuses a token from another issuer", () => {
    expectRefused(verify(forge(ed, headerFor(ed), claimsFor({ iss: "https://other.example" }))), "ERR_ISSUER_MISMATCH");
  });

  it("refuses a token carrying another tenant's issuer", () => {
    expectRefused(verify(forge(ed, headerFor(ed), claimsFor({ iss: `${ISSUER}/sandbox` }))), "ERR_ISSUER_MISMATCH");
  });

  it("accepts the tenant's issuer, the configured issuer followed by /tenant", () => {
    expect(TENANT_ISSUER).toBe(`${ISSUER}/${TENANT}`);
    expect(verify(forge(ed, headerFor(ed), claimsFor({ iss: TENANT_ISSUER }))).ok).toBe(true);
  });

  it("accepts the shared issuer of token format v1 within the shared-issuer window after iat", () => {
    const windowS = 30 * 86_400;
    const old = forge(ed, headerFor(ed), claimsFor({ iss: ISSUER, iat: NOW_S - windowS + 1, nbf: NOW_S - windowS + 1, exp: NOW_S + HOUR }));
    expect(verify(old).ok).toBe(true);
  });

  it("refuses the shared issuer with ERR_ISSUER_RETIRED once the window after iat has passed", () => {
    const windowS = 30 * 86_400;
    const old = forge(ed, headerFor(ed), claimsFor({ iss: ISSUER, iat: NOW_S - windowS, nbf: NOW_S - windowS, exp: NOW_S + HOUR }));
    const error = expectRefused(verify(old), "ERR_ISSUER_RETIRED");
    expect(error.message).toContain(`use a token with iss "${TENANT_ISSUER}"`);
  });

  it("refuses the shared issuer at once with a window of 0, and keeps accepting the tenant's issuer", () => {
    const verifier = new TokenVerifier({ sharedIssuerWindowSeconds: 0 });
    expectRefused(verify(forge(ed, headerFor(ed), claimsFor({ iss: ISSUER })), {}, NOW_MS, GET, verifier), "ERR_ISSUER_RETIRED");
    expect(verify(forge(ed, headerFor(ed), claimsFor()), {}, NOW_MS, GET, verifier).ok).toBe(true);
  });

  it("refuses a shared-issuer window outside 0 to 10 years", () => {
    expect(() => new TokenVerifier({ sharedIssuerWindowSeconds: -1 })).toThrow(/sharedIssuerWindowSeconds/);
    expect(() => new TokenVerifier({ sharedIssuerWindowSeconds: 3650 * 86_400 + 1 })).toThrow(/sharedIssuerWindowSeconds/);
  });

  it("refuses a token for another tenant", () => {
    expectRefused(verify(forge(ed, headerFor(ed), claimsFor({ aud: "sandbox" }))), "ERR_AUDIENCE_MISMATCH");
    expectRefused(verify(forge(ed, headerFor(ed), claimsFor({ aud: ["sandbox", "prod"] }))), "ERR_AUDIENCE_MISMATCH");
  });

  it("accepts an aud array that contains the tenant", () => {
    expect(verify(forge(ed, headerFor(ed), claimsFor({ aud: ["sandbox", TENANT] }))).ok).toBe(true);
  });

  it("refuses a token without exp when its ApiKey does not allow non-expiring tokens", async () => {
    expectRefused(verify(await issued(ed, null)), "ERR_TOKEN_NO_EXPIRY");
  });

  it("accepts a token without exp when its ApiKey allows non-expiring tokens", async () => {
    const apiKeys = { reporting: apiKeyEntry({ allowNonExpiring: true }), billing: apiKeyEntry() };
    const result = verify(await issued(ed, null), { apiKeys }, NOW_MS + 400 * 24 * HOUR * 1000);
    expect(result.ok && result.identity.expiresAt).toBeNull();
  });

  it("refuses a token signed with a deposed key past its notAfter", async () => {
    const token = await issued(ed);
    const keys = [bundleKey(ed, "reporting", "deposed", "2026-11-29T12:10:00Z"), bundleKey(es)];
    expectRefused(verify(token, { keys }, Date.parse("2026-11-29T12:10:00.001Z")), "ERR_KEY_EXPIRED");
  });

  it("accepts a token signed with a deposed key before its notAfter", async () => {
    const token = await issued(ed);
    const keys = [bundleKey(ed, "reporting", "deposed", "2026-11-29T12:10:00Z"), bundleKey(es)];
    expect(verify(token, { keys }, Date.parse("2026-11-29T12:10:00Z")).ok).toBe(true);
  });

  it("accepts a token signed with a prepared key", async () => {
    expect(verify(await issued(ed), { keys: [bundleKey(ed, "reporting", "prepared")] }).ok).toBe(true);
  });

  it("refuses a revoked jti", async () => {
    const token = await issued(ed);
    const jti = (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { jti: string }).jti;
    const result = verify(token, { revoked: [{ jti, apiKey: "reporting", exp: NOW_S + HOUR }] });
    expectRefused(result, "ERR_TOKEN_REVOKED");
    expect(!result.ok && result.context).toEqual({ kid: ed.kid, apiKey: "reporting", jti });
  });

  it("refuses a token issued before its ApiKey's revokedBefore", async () => {
    const token = await issued(ed, HOUR, "reporting", NOW_MS - 1000);
    const apiKeys = { reporting: apiKeyEntry({ revokedBefore: "2026-11-29T12:00:00Z" }), billing: apiKeyEntry() };
    expectRefused(verify(token, { apiKeys }), "ERR_TOKEN_ISSUED_BEFORE_REVOCATION");
    expect(verify(await issued(ed), { apiKeys }).ok).toBe(true);
  });

  it("refuses a token of a suspended ApiKey", async () => {
    const apiKeys = { reporting: apiKeyEntry({ suspended: true }), billing: apiKeyEntry() };
    expectRefused(verify(await issued(ed), { apiKeys }), "ERR_API_KEY_SUSPENDED");
  });

  it("refuses a token of an ApiKey that is not in the bundle, whose keys left with it", async () => {
    const ghost = await signingKey("EdDSA", "ghost");
    const token = await issued(ghost, HOUR, "ghost");
    // A valid bundle cannot hold a key of an unknown ApiKey (ERR_BUNDLE_UNKNOWN_API_KEY), so the kid is unknown.
    expectRefused(verify(token), "ERR_KEY_UNKNOWN");
    // And a known key cannot speak for an unknown ApiKey.
    expectRefused(verify(forge(ed, headerFor(ed), claimsFor({ sub: "ghost", client_id: "ghost" }))), "ERR_KEY_SUBJECT_MISMATCH");
  });

  it("refuses a valid token when a Deny rule of its policies matches the path", async () => {
    const result = verify(await issued(ed), {}, NOW_MS, { method: "GET", path: "/api/v0/admin/users" });
    const error = expectRefused(result, "ERR_POLICY_DENIED");
    expect(error.status).toBe(403);
    expect(!result.ok && result.context.rule).toEqual({ policy: "datagrid-read", index: 1, effect: "Deny" });
  });

  it("refuses a valid token when no rule of its policies allows the method and path", async () => {
    const token = await issued(ed);
    expectRefused(verify(token, {}, NOW_MS, { method: "POST", path: "/api/v0/datagrid/rows" }), "ERR_POLICY_DENIED");
    expectRefused(verify(token, {}, NOW_MS, { method: "GET", path: "/api/v1/datagrid" }), "ERR_POLICY_DENIED");
  });

  it("refuses a path that escapes an allowed prefix with dot segments", async () => {
    const token = await issued(ed);
    expectRefused(verify(token, {}, NOW_MS, { method: "GET", path: "/api/v0/../../admin" }), "ERR_POLICY_DENIED");
    expectRefused(verify(token, {}, NOW_MS, { method: "GET", path: "/api/v0/../../../api/v0/x" }), "ERR_PATH_INVALID");
    expectRefused(verify(token, {}, NOW_MS, { method: "GET", path: "/api/v0/%2E%2E/v1/secret" }), "ERR_POLICY_DENIED");
    expectRefused(verify(token, {}, NOW_MS, { method: "GET", path: "/api/v0/x/..%2Fadmin" }), "ERR_PATH_INVALID");
  });

  it.each(ALGORITHMS)("accepts a valid %s token and names its identity and rule", async (alg) => {
    const key = await signingKey(alg);
    const { token, claims } = await issueAccessToken({ key, issuer: TENANT_ISSUER, apiKey: "reporting", tenant: TENANT, now: new Date(NOW_MS), lifetimeSeconds: HOUR });
    const result = verify(token, {}, NOW_MS, { method: "head", path: "/api/v0/datagrid/rows?limit=10" });
    expect(result).toEqual({
      ok: true,
      identity: {
        apiKey: "reporting", tenant: TENANT, jti: claims.jti, kid: key.kid, issuedAt: NOW_S, expiresAt: NOW_S + HOUR,
        rule: { policy: "datagrid-read", index: 0, effect: "Allow" },
      },
    });
  });

  it("accepts typ application/at+jwt and refuses other types", () => {
    expect(verify(forge(ed, headerFor(ed, { typ: "application/at+jwt" }), claimsFor())).ok).toBe(true);
    for (const typ of ["JWT", "AT+JWT", "at+JWT", undefined, 1]) {
      expectRefused(verify(forge(ed, headerFor(ed, { typ }), claimsFor())), "ERR_TOKEN_TYPE");
    }
  });

  it("refuses a signature made by another key under a bundle kid", () => {
    expectRefused(verify(forge(stranger, headerFor(ed), claimsFor())), "ERR_SIGNATURE_INVALID");
  });

  it("refuses a token whose claims were altered after signing", async () => {
    const [h, , s] = (await issued(ed)).split(".") as [string, string, string];
    expectRefused(verify(`${h}.${encodePart(claimsFor({ exp: NOW_S + 1000 * HOUR }))}.${s}`), "ERR_SIGNATURE_INVALID");
  });

  it("refuses an ES256 signature in DER form", async () => {
    const token = await issued(es);
    const [h, c, s] = token.split(".") as [string, string, string];
    const raw = Buffer.from(s, "base64url");
    const integer = (b: Buffer): Buffer => {
      let v = b;
      while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1);
      if (v[0]! >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
      return Buffer.concat([Buffer.from([0x02, v.length]), v]);
    };
    const body = Buffer.concat([integer(raw.subarray(0, 32)), integer(raw.subarray(32))]);
    const der = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    expect(verify(token).ok).toBe(true);
    expectRefused(verify(`${h}.${c}.${der.toString("base64url")}`), "ERR_SIGNATURE_INVALID");
  });

  it("refuses claims of the wrong type", () => {
    for (const overrides of [{ exp: "tomorrow" }, { exp: NOW_S + 0.5 }, { iat: undefined }, { nbf: -1 }, { jti: "" }, { sub: 7 }, { aud: [] }, { iss: null }]) {
      expectRefused(verify(forge(ed, headerFor(ed), claimsFor(overrides))), "ERR_CLAIMS_INVALID");
    }
  });

  it("reports the first failing check in the documented order", async () => {
    // An unknown kid is reported before the extra header parameter.
    expectRefused(verify(forge(stranger, headerFor(stranger, { jku: "https://evil.example" }), claimsFor())), "ERR_KEY_UNKNOWN");
    // An expired token that is also revoked reports the expiry.
    const token = await issued(ed);
    const jti = (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { jti: string }).jti;
    expectRefused(verify(token, { revoked: [{ jti, apiKey: "reporting", exp: null }] }, NOW_MS + 2 * HOUR * 1000), "ERR_TOKEN_EXPIRED");
    // A revoked token on a forbidden path reports the revocation.
    expectRefused(verify(token, { revoked: [{ jti, apiKey: "reporting", exp: null }] }, NOW_MS, { method: "DELETE", path: "/" }), "ERR_TOKEN_REVOKED");
  });

  it("never puts the token in an error message", async () => {
    const token = await issued(ed);
    const signature = token.slice(token.lastIndexOf(".") + 1);
    const requests: [string, Partial<BundleParts>, number, RequestInfo][] = [
      [token, {}, NOW_MS + 2 * HOUR * 1000, GET],
      [token, { apiKeys: { reporting: apiKeyEntry({ suspended: true }), billing: apiKeyEntry() } }, NOW_MS, GET],
      [token, {}, NOW_MS, { method: "PUT", path: "/x" }],
      [token.slice(0, -2), {}, NOW_MS, GET],
    ];
    for (const [t, parts, at, request] of requests) {
      const result = verify(t, parts, at, request);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error.message).not.toContain(signature.slice(0, 16));
      expect(!result.ok && JSON.stringify(result.context)).not.toContain(signature.slice(0, 16));
    }
  });
});

describe("the verified-token cache", () => {
  it("does not let a token through once it is revoked", async () => {
    const { verifier, bundle } = load();
    const token = await issued(ed);
    expect(verifier.verify(token, GET, bundle, NOW_MS).ok).toBe(true);
    const jti = (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { jti: string }).jti;
    const next = load({ revoked: [{ jti, apiKey: "reporting", exp: NOW_S + HOUR }], generation: 2 }, verifier).bundle;
    expectRefused(verifier.verify(token, GET, next, NOW_MS), "ERR_TOKEN_REVOKED");
    expect(verifier.stats().cacheHits).toBe(1);
  });

  it("does not let a token through once its ApiKey is suspended", async () => {
    const { verifier, bundle } = load();
    const token = await issued(ed);
    expect(verifier.verify(token, GET, bundle, NOW_MS).ok).toBe(true);
    const apiKeys = { reporting: apiKeyEntry({ suspended: true }), billing: apiKeyEntry() };
    const next = load({ apiKeys, generation: 2 }, verifier).bundle;
    expectRefused(verifier.verify(token, GET, next, NOW_MS), "ERR_API_KEY_SUSPENDED");
    expect(verifier.stats().cacheHits).toBe(1);
  });

  it("does not let a token through once its key has left the bundle", async () => {
    const { verifier, bundle } = load();
    const token = await issued(ed);
    expect(verifier.verify(token, GET, bundle, NOW_MS).ok).toBe(true);
    const next = load({ keys: [bundleKey(es)], generation: 2 }, verifier).bundle;
    expectRefused(verifier.verify(token, GET, next, NOW_MS), "ERR_KEY_UNKNOWN");
  });

  it("does not let a token through after it expires, nor on a path its policy denies", async () => {
    const { verifier, bundle } = load();
    const token = await issued(ed);
    expect(verifier.verify(token, GET, bundle, NOW_MS).ok).toBe(true);
    expectRefused(verifier.verify(token, GET, bundle, NOW_MS + 2 * HOUR * 1000), "ERR_TOKEN_EXPIRED");
    expectRefused(verifier.verify(token, { method: "GET", path: "/api/v0/admin" }, bundle, NOW_MS), "ERR_POLICY_DENIED");
    expect(verifier.stats().cacheHits).toBe(2);
  });

  it("does not cache a token whose signature fails", () => {
    const { verifier, bundle } = load();
    const token = forge(stranger, headerFor(ed), claimsFor());
    expectRefused(verifier.verify(token, GET, bundle, NOW_MS), "ERR_SIGNATURE_INVALID");
    expectRefused(verifier.verify(token, GET, bundle, NOW_MS), "ERR_SIGNATURE_INVALID");
    expect(verifier.stats()).toEqual({ cacheEntries: 0, cacheHits: 0, cacheMisses: 2 });
  });
});
