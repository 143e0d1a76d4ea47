import { beforeAll, describe, expect, it } from "vitest";
import { cachedTokenSecret, inspectTokenSecret, type CachedSecret } from "../../../src/model/access-token/secret.ts";
import { TOKEN_DATA_KEY } from "../../../src/model/names.ts";
import type { SecretObject } from "../../../src/model/signing-key/secret.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import type { PrivateJwk } from "../../../src/token/types.ts";
import { accessToken, apiKeyView, NOW, SimulatedAccessToken } from "../../controller/accesstoken/fixtures.ts";

let key: PrivateJwk;
let other: SimulatedAccessToken;
beforeAll(async () => {
  key = await generateSigningKey();
  other = await issued();
});

/** An AccessToken with its token issued into its Secret, as the API server keeps them. */
async function issued(): Promise<SimulatedAccessToken> {
  const sim = new SimulatedAccessToken(accessToken(), apiKeyView(key));
  await sim.reconcile(NOW);
  return sim;
}

const tokenOf = (secret: SecretObject): string => Buffer.from(secret.data?.[TOKEN_DATA_KEY] ?? "", "base64").toString("utf8");
const withToken = (secret: SecretObject, token: string): SecretObject => ({ ...secret, data: { [TOKEN_DATA_KEY]: Buffer.from(token).toString("base64") } });
const withAnnotation = (secret: SecretObject, name: string, value: string): SecretObject => ({
  ...secret,
  metadata: { ...secret.metadata, annotations: { ...secret.metadata.annotations, [name]: value } },
});

describe("cachedTokenSecret", () => {
  it("keeps no token in a cached token Secret, only its digest", async () => {
    const secret = (await issued()).secret as SecretObject;
    const token = tokenOf(secret);
    expect(token.split(".")).toHaveLength(3);
    const cached = cachedTokenSecret(secret) as CachedSecret;
    expect(cached.data).toBeUndefined();
    expect(cached.tokenDigest).toEqual(expect.objectContaining({ kid: key.kid }));
    const text = JSON.stringify(cached);
    for (const part of token.split(".")) expect(text).not.toContain(part);
    expect(text).not.toContain(secret.data?.[TOKEN_DATA_KEY]);
  });

  it("leaves Secrets of other types, and token Secrets without data, as they are", () => {
    const signingKeys: SecretObject = { metadata: { name: "k" }, type: "keyward.dev/signing-key", data: { "keys.json": "e30=" } };
    expect(cachedTokenSecret(signingKeys)).toBe(signingKeys);
    const revoked: SecretObject = { metadata: { name: "t" }, type: "keyward.dev/access-token" };
    expect(cachedTokenSecret(revoked)).toBe(revoked);
  });

  it("judges a cached token Secret exactly as it judges the Secret it came from", async () => {
    const sim = await issued();
    const at = sim.accessToken;
    const secret = sim.secret as SecretObject;
    const foreignToken = tokenOf(other.secret as SecretObject);
    const cases: [string, SecretObject][] = [
      ["intact", secret],
      ["a token replaced by another AccessToken's", withToken(secret, foreignToken)],
      ["a token replaced, its SHA-256 annotation with it", withAnnotation(withToken(secret, foreignToken), "keyward.dev/token-sha256", (other.secret as SecretObject).metadata.annotations?.["keyward.dev/token-sha256"] ?? "")],
      ["a token that is no JWS", withToken(secret, "not-a-jws")],
      ["an edited jti annotation", withAnnotation(secret, "keyward.dev/jti", "other")],
      ["an edited kid annotation", withAnnotation(secret, "keyward.dev/kid", "other")],
      ["an edited SHA-256 annotation", withAnnotation(secret, "keyward.dev/token-sha256", "other")],
      ["an emptied token", withToken(secret, "")],
    ];
    const verdicts = cases.map(([what, s]) => [what, inspectTokenSecret(s, at).kind, inspectTokenSecret(cachedTokenSecret(s), at).kind]);
    expect(verdicts).toEqual([
      ["intact", "intact", "intact"],
      ["a token replaced by another AccessToken's", "altered", "altered"],
      ["a token replaced, its SHA-256 annotation with it", "altered", "altered"],
      ["a token that is no JWS", "altered", "altered"],
      ["an edited jti annotation", "altered", "altered"],
      ["an edited kid annotation", "altered", "altered"],
      ["an edited SHA-256 annotation", "altered", "altered"],
      ["an emptied token", "empty", "empty"],
    ]);
  });
});
