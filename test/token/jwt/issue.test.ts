import { beforeAll, describe, expect, it } from "vitest";
import { decodeUnverified, issueAccessToken, issueAccessTokenSync, issueAccessTokenWith, signWithJwk, TokenInputError } from "../../../src/token/index.ts";
import type { IssueOptions, PrivateJwk } from "../../../src/token/index.ts";
import { HOUR, ISSUER, NOW_MS, NOW_S, signingKey, TENANT } from "../support/fixtures.ts";

let key: PrivateJwk;
beforeAll(async () => {
  key = await signingKey("EdDSA");
});

function options(overrides: Partial<IssueOptions> = {}): IssueOptions {
  return { key, issuer: ISSUER, apiKey: "reporting", tenant: TENANT, now: new Date(NOW_MS + 999), lifetimeSeconds: HOUR, ...overrides };
}

describe("issueAccessToken", () => {
  it("writes the v1 header and claims, in whole seconds", async () => {
    const { token, header, claims } = await issueAccessToken(options({ jti: "abc_DEF-123" }));
    expect(header).toEqual({ alg: "EdDSA", typ: "at+jwt", kid: key.kid });
    expect(claims).toEqual({ iss: ISSUER, sub: "reporting", client_id: "reporting", aud: TENANT, iat: NOW_S, nbf: NOW_S, exp: NOW_S + HOUR, jti: "abc_DEF-123" });
    expect(decodeUnverified(token)).toEqual({ header, claims });
  });

  it("leaves exp out of a non-expiring token", async () => {
    const { claims } = await issueAccessToken(options({ lifetimeSeconds: null }));
    expect("exp" in claims).toBe(false);
  });

  it("gives each token a new 128-bit jti", async () => {
    const [a, b] = await Promise.all([issueAccessToken(options()), issueAccessToken(options())]);
    expect(a.claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.claims.jti).not.toBe(b.claims.jti);
  });

  it("issues the same token synchronously", () => {
    const { token } = issueAccessTokenSync(options({ jti: "same" }));
    expect(token.split(".").length).toBe(3);
  });

  it("refuses a public key", async () => {
    const { d: _d, ...publicOnly } = key;
    await expect(issueAccessToken(options({ key: publicOnly as PrivateJwk }))).rejects.toMatchObject({ code: "ERR_TOKEN_INPUT", field: "key.d" });
  });

  it("refuses a key whose kid is not its thumbprint", async () => {
    await expect(issueAccessToken(options({ key: { ...key, kid: "my-key" } }))).rejects.toMatchObject({ field: "key.kid" });
  });

  it.each([
    ["a zero lifetime", { lifetimeSeconds: 0 }, "lifetimeSeconds"],
    ["a fractional lifetime", { lifetimeSeconds: 1.5 }, "lifetimeSeconds"],
    ["an empty issuer", { issuer: "" }, "issuer"],
    ["an empty ApiKey", { apiKey: "" }, "apiKey"],
    ["an empty tenant", { tenant: "" }, "tenant"],
    ["an invalid date", { now: new Date(Number.NaN) }, "now"],
    ["a jti with a dot", { jti: "a.b" }, "jti"],
  ] as const)("refuses %s", async (_name, overrides, field) => {
    const rejected = issueAccessToken(options(overrides));
    await expect(rejected).rejects.toBeInstanceOf(TokenInputError);
    await expect(rejected).rejects.toMatchObject({ field });
  });
});

describe("issueAccessTokenWith", () => {
  it("issues through a signer the very token issueAccessToken issues with the key", async () => {
    const signed: Uint8Array[] = [];
    const signer = {
      kid: key.kid,
      alg: key.alg,
      sign: (input: Uint8Array) => {
        signed.push(input);
        return Promise.resolve(signWithJwk(key, input));
      },
    };
    const viaSigner = await issueAccessTokenWith(signer, options({ jti: "same" }));
    const direct = issueAccessTokenSync(options({ jti: "same" }));
    expect(viaSigner).toEqual(direct);
    expect(Buffer.from(signed[0] ?? []).toString("latin1")).toBe(direct.token.split(".").slice(0, 2).join("."));
  });

  it("names the kid and algorithm of the signer in the header", async () => {
    const signer = { kid: key.kid, alg: key.alg, sign: (input: Uint8Array) => Promise.resolve(signWithJwk(key, input)) };
    const { header } = await issueAccessTokenWith(signer, options());
    expect(header).toEqual({ alg: "EdDSA", typ: "at+jwt", kid: key.kid });
  });

  it("refuses a signer without a usable kid or algorithm, before asking it to sign", async () => {
    let asked = false;
    const sign = (): Promise<Uint8Array> => {
      asked = true;
      return Promise.resolve(new Uint8Array());
    };
    await expect(issueAccessTokenWith({ kid: "", alg: "EdDSA", sign }, options())).rejects.toMatchObject({ field: "key.kid" });
    await expect(issueAccessTokenWith({ kid: key.kid, alg: "HS256" as "EdDSA", sign }, options())).rejects.toMatchObject({ field: "key.alg" });
    expect(asked).toBe(false);
  });

  it("passes on the signer's refusal", async () => {
    const refusal = new Error("the key is gone");
    await expect(issueAccessTokenWith({ kid: key.kid, alg: key.alg, sign: () => Promise.reject(refusal) }, options())).rejects.toBe(refusal);
  });
});
