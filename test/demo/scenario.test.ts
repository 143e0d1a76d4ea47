import { compactVerify, importJWK } from "jose";
import { describe, expect, it } from "vitest";
import { SCENARIO_TITLES, tamper } from "../../src/demo/index.ts";
import { generateSigningKey, issueAccessToken, publicJwkOf } from "../../src/token/index.ts";

describe("the scenario", () => {
  it("has the six steps of the demo, in order", () => {
    expect(SCENARIO_TITLES.map((t) => t.split(".")[0])).toEqual(["1", "2", "3", "4", "5", "6"]);
    expect(SCENARIO_TITLES.join("\n")).toMatch(/→ 200[\s\S]*→ 403[\s\S]*→ 401[\s\S]*spec\.rotate[\s\S]*spec\.revoked[\s\S]*spec\.revokeAll/);
  });
});

describe("tamper", () => {
  it("changes one character of the signature, so that a signed token no longer verifies", async () => {
    const key = await generateSigningKey("EdDSA");
    const { token } = await issueAccessToken({ key, issuer: "https://keyward.example", apiKey: "reporting", tenant: "acme", now: new Date(0), lifetimeSeconds: 3600 });
    const publicKey = await importJWK(publicJwkOf(key), "EdDSA");
    await expect(compactVerify(token, publicKey)).resolves.toBeDefined();
    const forged = tamper(token);
    expect(forged).toHaveLength(token.length);
    expect(forged.split(".").slice(0, 2)).toEqual(token.split(".").slice(0, 2));
    expect(Array.from({ length: token.length }, (_, i) => i).filter((i) => forged[i] !== token[i])).toHaveLength(1);
    await expect(compactVerify(forged, publicKey)).rejects.toThrow();
  });

  it("refuses what is not a compact JWS", () => {
    expect(() => tamper("short")).toThrow("tamper: not a compact JWS");
  });
});
