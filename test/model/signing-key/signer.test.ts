import { beforeAll, describe, expect, it } from "vitest";
import type { SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import { signingKeySecret, type SecretObject } from "../../../src/model/signing-key/secret.ts";
import { secretSigner, SignerError, tokenSignerFor } from "../../../src/model/signing-key/signer.ts";
import { issueAccessTokenWith, jwkThumbprint, publicJwkOf, type PrivateJwk } from "../../../src/token/index.ts";
import { importVerifyingKey, verifySignature } from "../../../src/token/lib/crypto.ts";

const SYSTEM = "keyward-system";
const apiKey = { namespace: "acme", name: "reporting", uid: "7d1c0e6a-1111-4c3b-9a55-000000000001" };
const INPUT = Buffer.from("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJyZXBvcnRpbmcifQ", "latin1");
let active: PrivateJwk;
let deposed: PrivateJwk;
let document: SigningKeyDocument;

beforeAll(async () => {
  const signer = secretSigner({ secrets: { get: () => undefined }, systemNamespace: SYSTEM });
  [active, deposed] = await Promise.all([signer.generate("EdDSA"), signer.generate("ES256")]);
  document = {
    version: 1,
    keys: [
      { jwk: active, state: "active", createdAt: "2026-01-31T00:00:00Z", activatesAt: "2026-01-31T00:00:00Z", notAfter: null },
      { jwk: deposed, state: "deposed", createdAt: "2026-01-01T00:00:00Z", activatesAt: "2026-01-01T00:00:00Z", notAfter: "2026-03-02T00:00:00Z" },
    ],
    lastRotationTime: "2026-01-31T00:00:00Z",
    observedRequests: {},
    revokedBefore: null,
  };
});

function lookup(...secrets: SecretObject[]) {
  return { get: (namespace: string | undefined, name: string) => secrets.find((s) => s.metadata.namespace === namespace && s.metadata.name === name) };
}

function verifies(jwk: PrivateJwk, signature: Uint8Array): boolean {
  return verifySignature(importVerifyingKey(publicJwkOf(jwk), jwk.alg), INPUT, Buffer.from(signature));
}

describe("the in-cluster signer", () => {
  it("generates keys whose kid is the thumbprint of the public key", () => {
    expect(active.kid).toBe(jwkThumbprint(publicJwkOf(active)));
    expect(deposed.alg).toBe("ES256");
  });

  it("signs with the key it is asked for, from the ApiKey's Secret in the system namespace", async () => {
    const signer = secretSigner({ secrets: lookup(signingKeySecret(SYSTEM, apiKey, document)), systemNamespace: SYSTEM });
    expect(verifies(active, await signer.sign({ ...apiKey, kid: active.kid, alg: "EdDSA" }, INPUT))).toBe(true);
    expect(verifies(deposed, await signer.sign({ ...apiKey, kid: deposed.kid, alg: "ES256" }, INPUT))).toBe(true);
  });

  it("signs from the legacy Secret in the tenant while the keys have not moved", async () => {
    const legacy: SecretObject = {
      ...signingKeySecret(SYSTEM, apiKey, document),
      metadata: {
        name: "reporting-signing-keys",
        namespace: "acme",
        ownerReferences: [{ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", name: "reporting", uid: apiKey.uid, controller: true }],
      },
    };
    const signer = secretSigner({ secrets: lookup(legacy), systemNamespace: SYSTEM });
    expect(verifies(active, await signer.sign({ ...apiKey, kid: active.kid, alg: "EdDSA" }, INPUT))).toBe(true);
  });

  it("issues tokens whose signature the public key verifies", async () => {
    const signer = secretSigner({ secrets: lookup(signingKeySecret(SYSTEM, apiKey, document)), systemNamespace: SYSTEM });
    const { token } = await issueAccessTokenWith(tokenSignerFor(signer, { ...apiKey, kid: active.kid, alg: "EdDSA" }), {
      issuer: "https://keyward.test", apiKey: "reporting", tenant: "acme", now: new Date("2026-02-01T00:00:00Z"), lifetimeSeconds: 3600,
    });
    const [header = "", claims = "", signature = ""] = token.split(".");
    const key = importVerifyingKey(publicJwkOf(active), "EdDSA");
    expect(verifySignature(key, Buffer.from(`${header}.${claims}`, "latin1"), Buffer.from(signature, "base64url"))).toBe(true);
  });

  it("refuses a key of another ApiKey of the same name, a kid it does not hold and a Secret that is missing, with ERR_SIGNING_KEY_UNAVAILABLE and no key material", async () => {
    const signer = secretSigner({ secrets: lookup(signingKeySecret(SYSTEM, apiKey, document)), systemNamespace: SYSTEM });
    const refusals = [
      signer.sign({ ...apiKey, uid: "earlier", kid: active.kid, alg: "EdDSA" }, INPUT),
      signer.sign({ ...apiKey, kid: "unknown-kid", alg: "EdDSA" }, INPUT),
      signer.sign({ ...apiKey, kid: active.kid, alg: "ES256" }, INPUT),
      signer.sign({ ...apiKey, name: "other", kid: active.kid, alg: "EdDSA" }, INPUT),
    ];
    for (const refusal of refusals) {
      const err = (await refusal.catch((e: unknown) => e)) as SignerError;
      expect(err).toBeInstanceOf(SignerError);
      expect(err.code).toBe("ERR_SIGNING_KEY_UNAVAILABLE");
      expect(err.message).not.toContain(active.d);
    }
  });

  it("deletes idempotently: the keys go with the Secret", async () => {
    const signer = secretSigner({ secrets: lookup(), systemNamespace: SYSTEM });
    await expect(signer.delete({ ...apiKey, kid: active.kid, alg: "EdDSA" })).resolves.toBeUndefined();
    await expect(signer.delete({ ...apiKey, kid: active.kid, alg: "EdDSA" })).resolves.toBeUndefined();
  });
});
