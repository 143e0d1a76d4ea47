import { beforeAll, describe, expect, it } from "vitest";
import { serializeSigningKeys, type SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import {
  activeSigningKey,
  bundleKeysOf,
  readSigningKeySecret,
  signingKeySecret,
  type SecretObject,
} from "../../../src/model/signing-key/secret.ts";
import { signingKeySecretName } from "../../../src/model/signing-key/location.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import type { PrivateJwk } from "../../../src/token/types.ts";

const apiKey = { namespace: "acme", name: "reporting", uid: "7d1c0e6a-1111-4c3b-9a55-000000000001" };
let active: PrivateJwk;
let deposed: PrivateJwk;
let document: SigningKeyDocument;

beforeAll(async () => {
  [active, deposed] = await Promise.all([generateSigningKey(), generateSigningKey("ES256")]);
  document = {
    version: 1,
    keys: [
      { jwk: active, state: "active", createdAt: "2026-01-31T00:00:00Z", activatesAt: "2026-01-31T00:05:00Z", notAfter: null },
      { jwk: deposed, state: "deposed", createdAt: "2026-01-01T00:00:00Z", activatesAt: "2026-01-01T00:00:00Z", notAfter: "2026-03-02T00:05:00Z" },
    ],
    lastRotationTime: "2026-01-31T00:00:00Z",
    observedRequests: {},
    revokedBefore: null,
  };
});

const SYSTEM = "keyward-system";
const NAME = signingKeySecretName("acme", "reporting");

/** The Secret as keyward wrote it in the tenant namespace before the keys moved to the system namespace. */
function legacySecret(doc: SigningKeyDocument, uid = apiKey.uid): SecretObject {
  return {
    metadata: {
      name: "reporting-signing-keys",
      namespace: "acme",
      labels: { "app.kubernetes.io/managed-by": "keyward", "keyward.dev/api-key": "reporting" },
      ownerReferences: [{ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", name: "reporting", uid, controller: true, blockOwnerDeletion: true }],
    },
    type: "keyward.dev/signing-key",
    data: { "keys.json": Buffer.from(serializeSigningKeys(doc)).toString("base64") },
  };
}

describe("the signing-key Secret", () => {
  it("lives in the system namespace, typed, labelled and annotated with its tenant, ApiKey and uid, with the document in keys.json", () => {
    const secret = signingKeySecret(SYSTEM, apiKey, document);
    expect(secret).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: NAME,
        namespace: SYSTEM,
        labels: { "app.kubernetes.io/managed-by": "keyward", "keyward.dev/tenant": "acme", "keyward.dev/api-key": "reporting" },
        annotations: { "keyward.dev/tenant": "acme", "keyward.dev/api-key": "reporting", "keyward.dev/api-key-uid": apiKey.uid },
      },
      type: "keyward.dev/signing-key",
      data: { "keys.json": Buffer.from(serializeSigningKeys(document)).toString("base64") },
    });
  });

  it("reads back the document it was written with", () => {
    expect(readSigningKeySecret(signingKeySecret(SYSTEM, apiKey, document), apiKey)).toEqual({ kind: "ok", document });
  });

  it("reads the document of the legacy Secret in the tenant namespace, controlled by the ApiKey", () => {
    expect(readSigningKeySecret(legacySecret(document), apiKey)).toEqual({ kind: "ok", document });
  });

  it("reports a missing Secret", () => {
    expect(readSigningKeySecret(null, apiKey)).toEqual({ kind: "missing" });
  });

  it("does not adopt a Secret of another type", () => {
    const secret: SecretObject = { ...signingKeySecret(SYSTEM, apiKey, document), type: "Opaque" };
    const read = readSigningKeySecret(secret, apiKey);
    expect(read.kind).toBe("conflict");
    expect(read.kind === "conflict" && read.message).toContain(`Secret ${SYSTEM}/${NAME} exists but is not the signing-key Secret of ApiKey acme/reporting`);
  });

  it("does not adopt a Secret another ApiKey of the same name owned", () => {
    expect(readSigningKeySecret(signingKeySecret(SYSTEM, { ...apiKey, uid: "an-older-incarnation" }, document), apiKey).kind).toBe("conflict");
    expect(readSigningKeySecret(legacySecret(document, "an-older-incarnation"), apiKey).kind).toBe("conflict");
  });

  it("does not adopt a Secret of the system namespace that names another ApiKey under this name", () => {
    const secret = signingKeySecret(SYSTEM, { ...apiKey, name: "other" }, document);
    secret.metadata.name = NAME;
    expect(readSigningKeySecret(secret, apiKey).kind).toBe("conflict");
  });

  it("does not adopt a legacy Secret whose owner reference is not a controller reference", () => {
    const secret = legacySecret(document);
    secret.metadata.ownerReferences = secret.metadata.ownerReferences?.map((r) => ({ ...r, controller: false }));
    expect(readSigningKeySecret(secret, apiKey).kind).toBe("conflict");
  });

  it("reports an unreadable keys.json with the field and the fix, without key material", () => {
    const secret = signingKeySecret(SYSTEM, apiKey, document);
    const raw = JSON.parse(serializeSigningKeys(document)) as { keys: { state: string; notAfter: string | null }[] };
    raw.keys[1] = { ...raw.keys[1]!, state: "active", notAfter: null };
    secret.data = { "keys.json": Buffer.from(JSON.stringify(raw)).toString("base64") };
    const read = readSigningKeySecret(secret, apiKey);
    expect(read).toEqual({
      kind: "invalid",
      field: "keys",
      message:
        `Secret ${SYSTEM}/${NAME} of ApiKey acme/reporting: keys.json keys: must hold exactly one active key, holds 2: ` +
        "fix it, or delete the Secret to mint a new key (tokens signed by the old keys then stop verifying)",
    });
  });

  it("reports a Secret without keys.json", () => {
    const secret = { ...signingKeySecret(SYSTEM, apiKey, document), data: {} };
    expect(readSigningKeySecret(secret, apiKey)).toMatchObject({ kind: "invalid", field: "keys.json" });
  });

  it("never puts key material in a message", () => {
    const secret = { ...signingKeySecret(SYSTEM, apiKey, document), data: { "keys.json": Buffer.from(`{"d":"${active.d}",`).toString("base64") } };
    const read = readSigningKeySecret(secret, apiKey);
    expect(read.kind === "invalid" && read.message).not.toContain(active.d);
  });
});

describe("keys taken from the document", () => {
  it("signs with the active key", () => {
    expect(activeSigningKey(document)).toEqual(active);
  });

  it("publishes public members only, with the ApiKey, state and notAfter", () => {
    const keys = bundleKeysOf(document, "reporting");
    expect(keys).toEqual([
      { kty: "OKP", crv: "Ed25519", x: active.x, kid: active.kid, alg: "EdDSA", use: "sig", apiKey: "reporting", state: "active", notAfter: null },
      {
        kty: "EC", crv: "P-256", x: deposed.x, y: deposed.y, kid: deposed.kid, alg: "ES256", use: "sig",
        apiKey: "reporting", state: "deposed", notAfter: "2026-03-02T00:05:00Z",
      },
    ]);
  });
});
