// The token service signs through the signer it is given and never with a key of its own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { secretSigner, SignerError, type Signer } from "../../src/model/signing-key/signer.ts";
import { decoded, SYSTEM_NAMESPACE, World } from "./support/fixture.ts";

let w: World;
let inner: Signer | undefined;
let refuse = false;
const asked: string[] = [];

const signer: Signer = {
  generate: (algorithm) => (inner ?? secretSigner({ secrets: { get: () => undefined }, systemNamespace: SYSTEM_NAMESPACE })).generate(algorithm),
  sign: (key, input) => {
    asked.push(`${key.namespace}/${key.name}/${key.uid}/${key.kid}`);
    if (refuse || inner === undefined) return Promise.reject(new SignerError(`ApiKey ${key.namespace}/${key.name} has no ${key.alg} key ${key.kid} any more`));
    return inner.sign(key, input);
  },
  delete: () => Promise.resolve(),
};

beforeAll(async () => {
  w = await World.start({ rateLimit: { burst: 1000 }, signer });
  inner = secretSigner({ secrets: w.cache.secrets, systemNamespace: SYSTEM_NAMESPACE });
  await w.tenant("acme", [
    { name: "workflow", policies: ["token-issuer"] },
    { name: "reporting", policies: ["read"] },
  ]);
});

afterAll(async () => {
  await w.stop();
});

describe("the token service", () => {
  it("has the signer sign with the target ApiKey's active key", async () => {
    const r = await w.issue("acme", "reporting", w.token("acme", "workflow"));
    expect(r.status).toBe(201);
    const kid = w.key("acme", "reporting").kid;
    expect(decoded(r.json.access_token as string).header.kid).toBe(kid);
    expect(asked.at(-1)).toMatch(new RegExp(`^acme/reporting/[^/]+/${kid}$`));
  });

  it("answers 409 ERR_API_KEY_NOT_READY and records nothing when the signer cannot sign", async () => {
    const before = w.store.records.length;
    refuse = true;
    try {
      const r = await w.issue("acme", "reporting", w.token("acme", "workflow"));
      expect([r.status, r.json.error]).toEqual([409, "ERR_API_KEY_NOT_READY"]);
      expect(r.json.message).toContain("ApiKey acme/reporting");
      expect(r.json.access_token).toBeUndefined();
    } finally {
      refuse = false;
    }
    expect(w.store.records.length).toBe(before);
  });
});
