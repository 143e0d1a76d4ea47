import { beforeAll, describe, expect, it } from "vitest";
import { serializeSigningKeys, type SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import { planKeyMigration } from "../../../src/model/signing-key/migration.ts";
import { readSigningKeySecret, signingKeySecret, type SecretObject } from "../../../src/model/signing-key/secret.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";

const SYSTEM = "keyward-system";
const apiKey = { namespace: "acme", name: "reporting", uid: "7d1c0e6a-1111-4c3b-9a55-000000000001" };
let document: SigningKeyDocument;

beforeAll(async () => {
  const [active, prepared] = await Promise.all([generateSigningKey(), generateSigningKey("ES256")]);
  document = {
    version: 1,
    keys: [
      { jwk: prepared, state: "prepared", createdAt: "2026-01-31T00:00:00Z", activatesAt: "2026-01-31T00:05:00Z", notAfter: null },
      { jwk: active, state: "active", createdAt: "2026-01-01T00:00:00Z", activatesAt: "2026-01-01T00:00:00Z", notAfter: null },
    ],
    lastRotationTime: "2026-01-31T00:00:00Z",
    observedRequests: { rotate: "r1", revokeAll: "x" },
    revokedBefore: "2026-01-15T00:00:00Z",
  };
});

/** The Secret as keyward wrote it in the tenant namespace before. */
function legacy(data = Buffer.from(serializeSigningKeys(document)).toString("base64"), uid = apiKey.uid): SecretObject {
  return {
    metadata: {
      name: "reporting-signing-keys",
      namespace: "acme",
      uid: "secret-uid",
      labels: { "app.kubernetes.io/managed-by": "keyward", "keyward.dev/api-key": "reporting" },
      ownerReferences: [{ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", name: "reporting", uid, controller: true, blockOwnerDeletion: true }],
    },
    type: "keyward.dev/signing-key",
    data: { "keys.json": data },
  };
}

describe("moving an ApiKey's keys to the system namespace", () => {
  it("copies the legacy document byte for byte: same kids, keys, times and request values acted on", () => {
    const old = legacy();
    const step = planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: null, legacy: old });
    expect(step.step).toBe("copy");
    if (step.step !== "copy") return;
    expect(step.secret.metadata.namespace).toBe(SYSTEM);
    expect(step.secret.data).toEqual(old.data);
    expect(readSigningKeySecret(step.secret, apiKey)).toEqual({ kind: "ok", document });
    expect(step.secret).toEqual(signingKeySecret(SYSTEM, apiKey, document));
  });

  it("deletes the legacy Secret once the system Secret holds the keys, also after a stop between the two steps", () => {
    const old = legacy();
    expect(planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: signingKeySecret(SYSTEM, apiKey, document), legacy: old })).toEqual({
      step: "deleteLegacy",
      legacy: old,
    });
  });

  it("deletes the legacy Secret when the system Secret moved on since the copy (it is the record now)", () => {
    const moved = { ...document, observedRequests: { ...document.observedRequests, rotate: "r2" } };
    expect(planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: signingKeySecret(SYSTEM, apiKey, moved), legacy: legacy() }).step).toBe("deleteLegacy");
  });

  it("keeps the legacy Secret while the system Secret cannot be read, or is another ApiKey's", () => {
    const unreadable = { ...signingKeySecret(SYSTEM, apiKey, document), data: {} };
    expect(planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: unreadable, legacy: legacy() })).toEqual({ step: "none" });
    const earlier = signingKeySecret(SYSTEM, { ...apiKey, uid: "earlier" }, document);
    expect(planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: earlier, legacy: legacy() })).toEqual({ step: "none" });
  });

  it("copies nothing from a legacy Secret it cannot read", () => {
    expect(planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: null, legacy: legacy(Buffer.from("{").toString("base64")) })).toEqual({ step: "none" });
  });

  it("never touches a Secret of that name that is not the ApiKey's", () => {
    expect(planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: null, legacy: legacy(undefined, "earlier") })).toEqual({ step: "none" });
    expect(planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: signingKeySecret(SYSTEM, apiKey, document), legacy: { ...legacy(), type: "Opaque" } })).toEqual({ step: "none" });
  });

  it("has nothing to do without a legacy Secret", () => {
    expect(planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: null, legacy: null })).toEqual({ step: "none" });
    expect(planKeyMigration({ systemNamespace: SYSTEM, apiKey, system: signingKeySecret(SYSTEM, apiKey, document), legacy: null })).toEqual({ step: "none" });
  });
});
