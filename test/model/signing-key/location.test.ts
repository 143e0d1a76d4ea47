import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  apiKeyLabelValue,
  currentKeySecret,
  holdsKeysOf,
  legacySigningKeySecretName,
  signingKeyMetadata,
  signingKeySecretName,
  signingKeyTenantOf,
  systemSecretOwner,
  type LocatedSecret,
} from "../../../src/model/signing-key/location.ts";

const SYSTEM = "keyward-system";
const apiKey = { namespace: "acme", name: "reporting", uid: "7d1c0e6a-1111-4c3b-9a55-000000000001" };
// What the API server accepts as a Secret name (IsDNS1123Subdomain) and a label value.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const namespaceName = label;
const subdomain = fc
  .array(label, { minLength: 1, maxLength: 8 })
  .map((labels) => labels.join("."))
  .filter((n) => n.length <= 253);

function systemSecret(ref = apiKey): LocatedSecret {
  return { metadata: signingKeyMetadata(SYSTEM, ref), type: "keyward.dev/signing-key" };
}

function legacySecret(uid = apiKey.uid, controller = true): LocatedSecret {
  return {
    metadata: {
      name: "reporting-signing-keys",
      namespace: "acme",
      ownerReferences: [{ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", name: "reporting", uid, controller }],
    },
    type: "keyward.dev/signing-key",
  };
}

describe("the name of an ApiKey's Secret in the system namespace", () => {
  it("reads as the tenant and the ApiKey, followed by a hash of both", () => {
    expect(signingKeySecretName("acme", "reporting")).toMatch(/^acme\.reporting\.[0-9a-f]{32}$/);
  });

  it("is the same every time", () => {
    expect(signingKeySecretName("acme", "reporting")).toBe(signingKeySecretName("acme", "reporting"));
  });

  it("is a valid Secret name for the longest namespace and ApiKey name", () => {
    const name = signingKeySecretName("n".repeat(63), `${"a".repeat(62)}.${"b".repeat(62)}.${"c".repeat(62)}.${"d".repeat(63)}`);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(DNS_SUBDOMAIN);
  });

  it("is a valid Secret name for any namespace and ApiKey name", () => {
    fc.assert(
      fc.property(namespaceName, subdomain, (ns, name) => {
        const secret = signingKeySecretName(ns, name);
        return secret.length <= 253 && DNS_SUBDOMAIN.test(secret);
      }),
    );
  });

  it("differs for different pairs, also where the readable part is cut or the parts could be regrouped", () => {
    const long = "x".repeat(200);
    const pairs: [string, string][] = [
      ["a", "b.c"],
      ["a-b", "c"],
      ["a", "b-c"],
      ["n".repeat(63), `${long}a`],
      ["n".repeat(63), `${long}b`],
    ];
    const names = pairs.map(([ns, n]) => signingKeySecretName(ns, n));
    expect(new Set(names).size).toBe(pairs.length);
    fc.assert(
      fc.property(namespaceName, subdomain, namespaceName, subdomain, (ns1, n1, ns2, n2) =>
        (ns1 === ns2 && n1 === n2) === (signingKeySecretName(ns1, n1) === signingKeySecretName(ns2, n2)),
      ),
    );
  });

  it("is not the legacy name in the tenant", () => {
    expect(legacySigningKeySecretName("reporting")).toBe("reporting-signing-keys");
  });
});

describe("the labels and annotations of the Secret", () => {
  it("name the tenant and the ApiKey, and the annotations its uid", () => {
    expect(signingKeyMetadata(SYSTEM, apiKey)).toEqual({
      name: signingKeySecretName("acme", "reporting"),
      namespace: SYSTEM,
      labels: { "app.kubernetes.io/managed-by": "keyward", "keyward.dev/tenant": "acme", "keyward.dev/api-key": "reporting" },
      annotations: { "keyward.dev/tenant": "acme", "keyward.dev/api-key": "reporting", "keyward.dev/api-key-uid": apiKey.uid },
    });
  });

  it("hash an ApiKey name longer than a label value may be, and keep the full name in the annotation", () => {
    const name = `${"r".repeat(60)}.${"s".repeat(60)}`;
    const value = apiKeyLabelValue(name);
    expect(value.length).toBeLessThanOrEqual(63);
    expect(value).toMatch(LABEL_VALUE);
    expect(value).not.toBe(apiKeyLabelValue(`${"r".repeat(60)}.${"s".repeat(59)}t`));
    expect(signingKeyMetadata(SYSTEM, { ...apiKey, name }).annotations?.["keyward.dev/api-key"]).toBe(name);
  });

  it("are valid label values for any ApiKey name", () => {
    fc.assert(fc.property(subdomain, (name) => LABEL_VALUE.test(apiKeyLabelValue(name)) && apiKeyLabelValue(name).length <= 63));
  });
});

describe("whose a signing-key Secret is", () => {
  it("reads the ApiKey from the annotations of a Secret in the system namespace", () => {
    expect(systemSecretOwner(systemSecret())).toEqual(apiKey);
    expect(signingKeyTenantOf(systemSecret(), SYSTEM)).toEqual(apiKey);
  });

  it("takes no Secret of another type, without the annotations, or under another name than they imply", () => {
    expect(systemSecretOwner({ ...systemSecret(), type: "Opaque" })).toBeNull();
    expect(systemSecretOwner({ metadata: { name: signingKeySecretName("acme", "reporting"), namespace: SYSTEM }, type: "keyward.dev/signing-key" })).toBeNull();
    const renamed = systemSecret();
    renamed.metadata.name = signingKeySecretName("acme", "other");
    expect(systemSecretOwner(renamed)).toBeNull();
  });

  it("reads the ApiKey of a legacy Secret from its controller reference", () => {
    expect(signingKeyTenantOf(legacySecret(), SYSTEM)).toEqual({ namespace: "acme", name: "reporting" });
  });

  it("holds the keys of the ApiKey only with its very uid, in either place", () => {
    expect(holdsKeysOf(systemSecret(), apiKey)).toBe(true);
    expect(holdsKeysOf(legacySecret(), apiKey)).toBe(true);
    expect(holdsKeysOf(systemSecret({ ...apiKey, uid: "earlier" }), apiKey)).toBe(false);
    expect(holdsKeysOf(legacySecret("earlier"), apiKey)).toBe(false);
    expect(holdsKeysOf(legacySecret(apiKey.uid, false), apiKey)).toBe(false);
  });
});

describe("an ApiKey of the system namespace itself", () => {
  it("holds its Secret there like any other ApiKey", () => {
    const own = { ...apiKey, namespace: SYSTEM };
    const secret = systemSecret(own);
    expect(holdsKeysOf(secret, own)).toBe(true);
    expect(signingKeyTenantOf(secret, SYSTEM)).toEqual(own);
  });
});

describe("the Secret the keys are read from", () => {
  const lookup = (...secrets: LocatedSecret[]) => ({
    get: (namespace: string | undefined, name: string) => secrets.find((s) => s.metadata.namespace === namespace && s.metadata.name === name),
  });

  it("is the one in the system namespace when it exists", () => {
    const system = systemSecret();
    expect(currentKeySecret(lookup(system, legacySecret()), SYSTEM, apiKey)).toBe(system);
  });

  it("is the ApiKey's legacy Secret in the tenant until the keys are moved", () => {
    const legacy = legacySecret();
    expect(currentKeySecret(lookup(legacy), SYSTEM, apiKey)).toBe(legacy);
  });

  it("is never a legacy Secret of another ApiKey", () => {
    expect(currentKeySecret(lookup(legacySecret("earlier")), SYSTEM, apiKey)).toBeNull();
  });
});
