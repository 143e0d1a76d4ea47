import { beforeAll, describe, expect, it } from "vitest";
import type { ApiKey } from "../../../src/api/types.generated.ts";
import type { SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import { bundleKeysOf } from "../../../src/model/signing-key/secret.ts";
import { bundleApiKeyInput } from "../../../src/controller/bundle/inputs.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import { policyOf } from "../apikey/fixtures.ts";

let document: SigningKeyDocument;
beforeAll(async () => {
  const jwk = await generateSigningKey();
  document = {
    version: 1,
    keys: [{ jwk, state: "active", createdAt: "2026-01-01T00:00:00Z", activatesAt: "2026-01-01T00:00:00Z", notAfter: null }],
    lastRotationTime: "2026-01-01T00:00:00Z",
    observedRequests: {},
    revokedBefore: "2026-01-02T00:00:00Z",
  };
});

const apiKey: ApiKey = {
  apiVersion: "keyward.dev/v1alpha1",
  kind: "ApiKey",
  metadata: { name: "reporting", namespace: "acme", uid: "uid-1" },
  spec: { policies: ["read"], suspended: true },
};

describe("bundleApiKeyInput", () => {
  it("publishes the keys and cut-off of a readable Secret and the policy's permission", () => {
    expect(bundleApiKeyInput(apiKey, { kind: "ok", document }, { ok: true, policy: policyOf({ allowNeverExpires: true }) })).toEqual({
      name: "reporting",
      uid: "uid-1",
      deleting: false,
      suspended: true,
      policies: ["read"],
      revokedBefore: "2026-01-02T00:00:00Z",
      allowNonExpiring: true,
      keys: bundleKeysOf(document, "reporting"),
    });
  });

  it("publishes no keys for a missing Secret", () => {
    expect(bundleApiKeyInput(apiKey, { kind: "missing" }, null).keys).toEqual([]);
  });

  it("leaves the published keys and permission alone while the Secret or policy cannot be used", () => {
    const input = bundleApiKeyInput(apiKey, { kind: "invalid", field: "keys", message: "m" }, null);
    expect(input.keys).toBeNull();
    expect(input.allowNonExpiring).toBeNull();
    expect(bundleApiKeyInput(apiKey, { kind: "conflict", message: "m" }, null).keys).toBeNull();
  });

  it("marks an ApiKey being deleted", () => {
    const deleting = { ...apiKey, metadata: { ...apiKey.metadata, deletionTimestamp: "2026-01-03T00:00:00Z" } };
    expect(bundleApiKeyInput(deleting, { kind: "ok", document }, null).deleting).toBe(true);
  });
});
