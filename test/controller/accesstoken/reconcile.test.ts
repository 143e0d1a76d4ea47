import { beforeAll, describe, expect, it } from "vitest";
import { secretRecord, tokenSha256 } from "../../../src/model/access-token/secret.ts";
import { TokenSecretAnnotations as Annotations } from "../../../src/model/names.ts";
import { MAX_ISSUED } from "../../../src/controller/accesstoken/revocations.ts";
import { decodeUnverified } from "../../../src/token/jwt/decode.ts";
import { issueAccessTokenSync } from "../../../src/token/jwt/issue.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import type { PrivateJwk } from "../../../src/token/types.ts";
import { policyOf } from "../apikey/fixtures.ts";
import { H, ISSUER, M, NOW, S, SimulatedAccessToken, TOKEN_ISSUER, accessToken, after, apiKeyView } from "./fixtures.ts";

let k1: PrivateJwk;
let k2: PrivateJwk;
beforeAll(async () => {
  [k1, k2] = await Promise.all([generateSigningKey(), generateSigningKey()]);
});

const iso = (d: Date): string => d.toISOString().replace(".000Z", "Z");

function ready(sim: SimulatedAccessToken): { status: string; reason: string; message: string } | undefined {
  const c = sim.accessToken.status?.conditions?.find((x) => x.type === "Ready");
  return c === undefined ? undefined : { status: c.status, reason: c.reason, message: c.message };
}

function claimsOf(token: string): Record<string, unknown> {
  return decodeUnverified(token).claims as Record<string, unknown>;
}

async function issuedSim(spec: Parameters<typeof accessToken>[0] = {}, policy = policyOf()): Promise<SimulatedAccessToken> {
  const sim = new SimulatedAccessToken(accessToken(spec), apiKeyView(k1, {}, policy));
  await sim.reconcile(NOW);
  return sim;
}

describe("planAccessToken issues", () => {
  it("the first token into a Secret it owns, recording it in status before anyone reads it", async () => {
    const sim = new SimulatedAccessToken(accessToken(), apiKeyView(k1));
    const outcome = await sim.reconcile(NOW);
    expect(outcome.plan).toMatchObject({ action: "issue", cause: "initial", lifetimeSeconds: 24 * 3600 });
    const token = sim.token();
    const { header } = decodeUnverified(token);
    const claims = claimsOf(token);
    expect(header).toEqual({ alg: "EdDSA", typ: "at+jwt", kid: k1.kid });
    expect(claims).toMatchObject({ iss: TOKEN_ISSUER, sub: "reporting", client_id: "reporting", aud: "acme", iat: NOW.getTime() / 1000, exp: NOW.getTime() / 1000 + 86400 });
    const jti = claims.jti as string;
    expect(outcome.secret).toMatchObject({
      type: "keyward.dev/access-token",
      metadata: {
        name: "ci",
        namespace: "acme",
        labels: { "app.kubernetes.io/managed-by": "keyward", "keyward.dev/api-key": "reporting" },
        annotations: {
          [Annotations.accessToken]: "ci",
          [Annotations.jti]: jti,
          [Annotations.kid]: k1.kid,
          [Annotations.expiresAt]: iso(after(24 * H)),
          [Annotations.tokenSha256]: tokenSha256(token),
        },
        ownerReferences: [{ kind: "AccessToken", name: "ci", uid: sim.accessToken.metadata.uid, controller: true }],
      },
    });
    expect(outcome.status).toMatchObject({
      observedGeneration: 1,
      jti,
      kid: k1.kid,
      issuedAt: iso(NOW),
      expiresAt: iso(after(24 * H)),
      renewAt: iso(after(16 * H)),
      secretName: "ci",
      issued: [{ jti, kid: k1.kid, expiresAt: iso(after(24 * H)) }],
    });
    expect(ready(sim)).toMatchObject({ status: "True", reason: "Issued" });
    // The first token is routine: Ready reports it, no Event does.
    expect(outcome.events).toEqual([]);
    expect(outcome.requeueAt).toEqual(after(16 * H));
    // The Secret carries the record a deletion revokes: the AccessToken needs no finalizer of its own.
    expect(outcome.secret?.metadata.finalizers).toEqual(["keyward.dev/revocation"]);
    expect(outcome.finalizer).toBe("remove");
  });

  it("never puts the token in status, events or conditions", async () => {
    const sim = await issuedSim();
    const token = sim.token();
    const visible = JSON.stringify({ status: sim.accessToken.status, events: sim.outcomes.flatMap((o) => o.events) });
    expect(visible).not.toContain(token);
    expect(visible).not.toContain(token.split(".")[2]);
  });

  it("keeps the token on a resync and writes nothing", async () => {
    const sim = await issuedSim();
    const status = sim.accessToken.status;
    const outcome = await sim.reconcile(after(H));
    expect(outcome.plan.action).toBe("keep");
    expect(outcome.secret).toBeNull();
    expect(outcome.events).toEqual([]);
    expect(outcome.status).toEqual(status);
  });

  it("renews when a third of the lifetime is left, keeping the old token on record", async () => {
    const sim = await issuedSim();
    const first = sim.accessToken.status?.jti;
    expect((await sim.reconcile(after(16 * H - S))).plan.action).toBe("keep");
    const outcome = await sim.reconcile(after(16 * H));
    expect(outcome.plan).toMatchObject({ action: "issue", cause: "renew" });
    expect(outcome.events.map((e) => e.reason)).toEqual(["TokenRenewed"]);
    expect(outcome.status.issued?.map((e) => e.jti)).toEqual([first, outcome.status.jti]);
    expect(outcome.status.renewAt).toBe(iso(after(32 * H)));
  });

  it("renews spec.renewBefore ahead of expiry", async () => {
    const sim = await issuedSim({ lifetime: "24h", renewBefore: "1h" });
    expect(sim.accessToken.status?.renewAt).toBe(iso(after(23 * H)));
    expect((await sim.reconcile(after(23 * H))).plan).toMatchObject({ action: "issue", cause: "renew" });
  });

  it("re-issues promptly with the new active key after a rotation", async () => {
    const sim = await issuedSim();
    sim.apiKey = apiKeyView(k2, { kids: [k2.kid, k1.kid] });
    const outcome = await sim.reconcile(after(5 * M));
    expect(outcome.plan).toMatchObject({ action: "issue", cause: "keyRotated", kid: k2.kid });
    expect(decodeUnverified(sim.token()).header).toMatchObject({ kid: k2.kid });
    expect(outcome.events.map((e) => e.reason)).toEqual(["TokenReissued"]);
    expect(outcome.events[0]?.message).toContain(`key ${k1.kid} no longer signs`);
  });

  it("re-creates a deleted Secret", async () => {
    const sim = await issuedSim();
    sim.secret = null;
    expect((await sim.reconcile(after(H))).plan).toMatchObject({ action: "issue", cause: "secretMissing" });
    expect(sim.secret).not.toBeNull();
  });

  it.each<[string, (sim: SimulatedAccessToken) => void]>([
    [
      "its token replaced by another valid token",
      (sim) => {
        const other = issueAccessTokenSync({ key: k1, issuer: ISSUER, apiKey: "reporting", tenant: "acme", now: NOW, lifetimeSeconds: 3600 });
        sim.secret!.data = { token: Buffer.from(other.token).toString("base64") };
      },
    ],
    [
      "its token and hash annotation replaced together",
      (sim) => {
        const other = issueAccessTokenSync({ key: k1, issuer: ISSUER, apiKey: "reporting", tenant: "acme", now: NOW, lifetimeSeconds: 3600 });
        sim.secret!.data = { token: Buffer.from(other.token).toString("base64") };
        sim.secret!.metadata.annotations = { ...sim.secret!.metadata.annotations, [Annotations.tokenSha256]: tokenSha256(other.token) };
      },
    ],
    [
      "its token's claims edited in place, keeping jti and kid",
      (sim) => {
        const [header, payload, signature] = sim.token().split(".");
        const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
        const edited = Buffer.from(JSON.stringify({ ...claims, exp: 4_102_444_800 })).toString("base64url");
        sim.secret!.data = { token: Buffer.from(`${header ?? ""}.${edited}.${signature ?? ""}`).toString("base64") };
      },
    ],
    ["its jti annotation edited", (sim) => (sim.secret!.metadata.annotations = { ...sim.secret!.metadata.annotations, [Annotations.jti]: "x" })],
    ["its kid annotation edited", (sim) => (sim.secret!.metadata.annotations = { ...sim.secret!.metadata.annotations, [Annotations.kid]: "x" })],
    ["its token removed", (sim) => (sim.secret!.data = {})],
    ["its token truncated", (sim) => (sim.secret!.data = { token: Buffer.from(sim.token().slice(0, 40)).toString("base64") })],
  ])("re-issues into a Secret with %s", async (_what, alter) => {
    const sim = await issuedSim();
    alter(sim);
    const outcome = await sim.reconcile(after(H));
    expect(outcome.plan).toMatchObject({ action: "issue", cause: "secretAltered" });
    expect((await sim.reconcile(after(H))).plan.action).toBe("keep");
  });

  it("re-issues when the lifetime changes", async () => {
    const sim = await issuedSim();
    sim.setSpec({ lifetime: "2h" });
    const outcome = await sim.reconcile(after(M));
    expect(outcome.plan).toMatchObject({ action: "issue", cause: "specChanged", lifetimeSeconds: 7200 });
    expect(outcome.status.expiresAt).toBe(iso(after(M + 2 * H)));
  });

  it("issues a token without exp where the policy allows it, and never renews it on time", async () => {
    const sim = await issuedSim({ neverExpires: true }, policyOf({ allowNeverExpires: true }));
    const token = sim.token();
    expect(claimsOf(token).exp).toBeUndefined();
    expect(sim.accessToken.status?.expiresAt).toBeUndefined();
    expect(sim.accessToken.status?.renewAt).toBeUndefined();
    expect(sim.secret?.metadata.annotations?.[Annotations.expiresAt]).toBe("never");
    expect(sim.outcomes[0]?.requeueAt).toBeNull();
    expect((await sim.reconcile(after(10_000 * H))).plan.action).toBe("keep");
  });

  it("moves the token to a new spec.secretName and names the old Secret for deletion", async () => {
    const sim = await issuedSim();
    sim.setSpec({ secretName: "ci-token" });
    sim.secret = null;
    const outcome = await sim.reconcile(after(M));
    expect(outcome.plan).toMatchObject({ action: "issue", cause: "specChanged", secretName: "ci-token" });
    expect(outcome.secret?.metadata.name).toBe("ci-token");
    expect(outcome.deleteSecret).toBe("ci");
  });

  it("re-issues a token issued before the ApiKey's revocation cut-off", async () => {
    const sim = await issuedSim();
    sim.apiKey = apiKeyView(k1, { revokedBefore: iso(after(H)) });
    const outcome = await sim.reconcile(after(H));
    expect(outcome.plan).toMatchObject({ action: "issue", cause: "revokedBefore" });
    expect(outcome.status.issuedAt).toBe(iso(after(H)));
    expect((await sim.reconcile(after(H + S))).plan.action).toBe("keep");
  });
});

describe("planAccessToken refuses", () => {
  it.each<[string, Parameters<typeof accessToken>[0], (sim: SimulatedAccessToken) => void, string, string]>([
    ["a missing ApiKey", {}, (sim) => (sim.apiKey = null), "ApiKeyNotFound", 'spec.apiKeyName names ApiKey "reporting", which does not exist in namespace acme'],
    ["a suspended ApiKey", {}, (sim) => (sim.apiKey = apiKeyView(k1, { suspended: true })), "ApiKeySuspended", "set its spec.suspended to false"],
    ["an ApiKey without an active key", {}, (sim) => (sim.apiKey = apiKeyView(k1, { activeKey: null })), "ApiKeyNotReady", "it has no active signing key yet"],
    ["an ApiKey without a usable policy", {}, (sim) => (sim.apiKey = apiKeyView(k1, { policy: null })), "ApiKeyNotReady", "its rotation policy cannot be used"],
    [
      "a lifetime above the policy's maximum",
      { lifetime: "721h" },
      () => undefined,
      "LifetimeExceedsPolicy",
      "spec.lifetime (721h) is longer than the maxTokenLifetime of ClusterRotationPolicy default (720h): shorten spec.lifetime, or raise maxTokenLifetime in the policy",
    ],
    [
      "neverExpires under a policy that forbids it",
      { neverExpires: true },
      () => undefined,
      "NeverExpiresNotAllowed",
      "spec.neverExpires is true but ClusterRotationPolicy default does not allow tokens without expiry: set spec.lifetime instead (at most 720h), or set allowNeverExpires: true in the policy",
    ],
    ["renewBefore as long as the lifetime", { lifetime: "1h", renewBefore: "1h" }, () => undefined, "InvalidSpec", "spec.renewBefore (1h) must be longer than 0s and shorter than the lifetime (1h)"],
    ["a lifetime that is not a duration", { lifetime: "1d" }, () => undefined, "InvalidSpec", 'spec.lifetime "1d" is not a duration'],
    ["a lifetime under a minute", { lifetime: "59s" }, () => undefined, "InvalidSpec", "spec.lifetime (59s) must be at least 1m"],
    [
      "a Secret of that name it does not own",
      {},
      (sim) => (sim.secret = { metadata: { name: "ci", namespace: "acme" }, type: "Opaque", data: { token: "c2VjcmV0" } }),
      "TokenSecretConflict",
      "Secret acme/ci exists but is not the token Secret of AccessToken acme/ci",
    ],
  ])("%s, naming the field and the fix, and writes nothing", async (_what, spec, arrange, reason, message) => {
    const sim = new SimulatedAccessToken(accessToken(spec), apiKeyView(k1));
    arrange(sim);
    const secret = sim.secret;
    const outcome = await sim.reconcile(NOW);
    expect(outcome.plan).toMatchObject({ action: "fail", reason });
    expect(outcome.secret).toBeNull();
    expect(sim.secret).toBe(secret);
    expect(ready(sim)).toMatchObject({ status: "False", reason });
    expect(ready(sim)?.message).toContain(message);
    expect(ready(sim)?.message).toMatch(/^AccessToken acme\/ci: /);
    expect(outcome.events.map((e) => [e.type, e.reason])).toEqual([["Warning", reason]]);
    // A resync that finds the same problem records no second event.
    expect((await sim.reconcile(after(M))).events).toEqual([]);
  });

  it("keeps the token it issued while it refuses to issue another", async () => {
    const sim = await issuedSim();
    const token = sim.token();
    sim.apiKey = apiKeyView(k2, { suspended: true });
    await sim.reconcile(after(H));
    expect(sim.token()).toBe(token);
    expect(sim.accessToken.status?.jti).toBe(claimsOf(token).jti);
  });

  it("more tokens than status can record while earlier ones are still valid", async () => {
    const sim = await issuedSim();
    const issued = Array.from({ length: MAX_ISSUED }, (_, i) => ({ jti: `jti-${i}`, kid: k1.kid, expiresAt: iso(after((i + 1) * H)) }));
    sim.accessToken = { ...sim.accessToken, status: { ...sim.accessToken.status, issued } };
    sim.secret = null;
    const outcome = await sim.reconcile(after(M));
    expect(outcome.plan).toMatchObject({ action: "fail", reason: "TooManyTokens" });
    expect(outcome.requeueAt).toEqual(after(H + 5 * M));
    expect(ready(sim)?.message).toContain("spec.revokeAll");
    // Once the oldest has expired (and the verifiers' leeway passed), it issues again.
    expect((await sim.reconcile(after(H + 5 * M))).plan).toMatchObject({ action: "issue", cause: "secretMissing" });
  });
});

describe("planAccessToken revokes", () => {
  it("every unexpired token it issued, removes the token from the Secret, and issues no more", async () => {
    const sim = await issuedSim();
    await sim.reconcile(after(16 * H)); // renewal: two valid tokens
    const [a, b] = sim.accessToken.status?.issued ?? [];
    sim.setSpec({ revoked: true });
    const outcome = await sim.reconcile(after(17 * H));
    expect(outcome.plan.action).toBe("revoke");
    expect(outcome.revocations).toEqual([
      { jti: a?.jti, apiKey: "reporting", exp: after(24 * H).getTime() / 1000 },
      { jti: b?.jti, apiKey: "reporting", exp: after(40 * H).getTime() / 1000 },
    ]);
    expect(outcome.secret?.data).toEqual({});
    expect(outcome.secret?.metadata.annotations?.[Annotations.revokedAt]).toBe(iso(after(17 * H)));
    expect(outcome.status.revokedAt).toBe(iso(after(17 * H)));
    expect(outcome.status.renewAt).toBeUndefined();
    const conditions = Object.fromEntries((outcome.status.conditions ?? []).map((c) => [c.type, [c.status, c.reason]]));
    expect(conditions).toEqual({ Ready: ["False", "Revoked"], Revoked: ["True", "Revoked"] });
    expect(outcome.events.map((e) => e.reason)).toEqual(["TokenRevoked"]);

    const later = await sim.reconcile(after(30 * H));
    expect(later.plan.action).toBe("revoke");
    expect(later.events).toEqual([]);
    expect(later.secret).toBeNull();
    expect(later.status.revokedAt).toBe(iso(after(17 * H)));
    // The first token expired (and the verifiers' leeway passed): only the second is left on the list.
    expect(later.revocations.map((r) => r.jti)).toEqual([b?.jti]);
  });

  it("keeps a non-expiring token on the list until its key is gone", async () => {
    const sim = await issuedSim({ neverExpires: true }, policyOf({ allowNeverExpires: true }));
    sim.setSpec({ revoked: true });
    const jti = sim.accessToken.status?.jti;
    expect((await sim.reconcile(after(100_000 * H))).revocations).toEqual([{ jti, apiKey: "reporting", exp: null }]);
    sim.apiKey = apiKeyView(k2, { kids: [k2.kid] }, policyOf({ allowNeverExpires: true }));
    expect((await sim.reconcile(after(100_001 * H))).revocations).toEqual([]);
  });

  it("keeps the finalizer of a deleted AccessToken until the bundle lists its revocations", async () => {
    const sim = await issuedSim();
    sim.accessToken = { ...sim.accessToken, metadata: { ...sim.accessToken.metadata, deletionTimestamp: iso(after(H)) } };
    const outcome = await sim.reconcile(after(H));
    expect(outcome.plan.action).toBe("revoke");
    expect(outcome.finalizer).toBe("keep");
    expect(outcome.secret).toBeNull();
    const jti = sim.accessToken.status?.jti ?? "";
    sim.bundle = {
      apiVersion: "keyward.dev/bundle/v1", tenant: "acme", issuer: ISSUER, generation: 2, generatedAt: iso(after(H)),
      keys: [{ kty: "OKP", crv: "Ed25519", x: k1.x ?? "", kid: k1.kid, alg: "EdDSA", use: "sig", apiKey: "reporting", state: "active", notAfter: null }],
      apiKeys: { reporting: { uid: "u", policies: [], suspended: false, revokedBefore: null, allowNonExpiring: false } },
      policies: {},
      revoked: [{ jti, apiKey: "reporting", exp: after(24 * H).getTime() / 1000 }],
    };
    expect((await sim.reconcile(after(H + S))).finalizer).toBe("remove");
  });

  it("lets a deleted AccessToken go at once when none of its tokens can still verify", async () => {
    const sim = await issuedSim();
    sim.accessToken = { ...sim.accessToken, metadata: { ...sim.accessToken.metadata, deletionTimestamp: iso(after(25 * H)) } };
    expect((await sim.reconcile(after(25 * H))).finalizer).toBe("remove");
  });
});

describe("planAccessToken keeps its record of issued tokens", () => {
  it("while the ApiKey's signing keys cannot be read", async () => {
    const sim = await issuedSim();
    const issued = sim.accessToken.status?.issued;
    sim.apiKey = apiKeyView(k1, { activeKey: null, kids: null });
    const outcome = await sim.reconcile(after(H));
    expect(outcome.plan).toMatchObject({ action: "fail", reason: "ApiKeyNotReady" });
    expect(sim.accessToken.status?.issued).toEqual(issued);
    sim.setSpec({ revoked: true });
    expect((await sim.reconcile(after(2 * H))).revocations.map((r) => r.jti)).toEqual(issued?.map((e) => e.jti));
  });

  it("while the ApiKey is missing", async () => {
    const sim = await issuedSim();
    sim.apiKey = null;
    sim.setSpec({ revoked: true });
    expect((await sim.reconcile(after(H))).revocations).toHaveLength(1);
  });
});

describe("planAccessToken keeps the record a deletion revokes in the token Secret", () => {
  const jtis = (sim: SimulatedAccessToken): string[] => (secretRecord(sim.secret!) ?? []).map((e) => e.jti);

  it("writes the Secret with the finalizer and a record naming every token a verifier may still accept", async () => {
    const sim = await issuedSim();
    const first = sim.accessToken.status?.jti ?? "";
    expect(jtis(sim)).toEqual([first]);
    const renewed = await sim.reconcile(after(16 * H));
    expect(renewed.plan).toMatchObject({ action: "issue", cause: "renew" });
    expect(jtis(sim)).toEqual([first, sim.accessToken.status?.jti]);
    expect(sim.secret?.metadata.finalizers).toEqual(["keyward.dev/revocation"]);
    expect(renewed.finalizer).toBe("remove");
  });

  it("gives a Secret written before the record existed its record and finalizer, token untouched, and then lets the AccessToken's finalizer go", async () => {
    const sim = await issuedSim();
    const token = sim.token();
    const annotations = Object.fromEntries(Object.entries(sim.secret!.metadata.annotations ?? {}).filter(([k]) => k !== Annotations.issued));
    sim.secret = { ...sim.secret!, metadata: { ...sim.secret!.metadata, annotations, finalizers: [] } };
    const outcome = await sim.reconcile(after(H));
    expect(outcome.plan.action).toBe("keep");
    expect(outcome.secret?.metadata.finalizers).toEqual(["keyward.dev/revocation"]);
    expect(jtis(sim)).toEqual([sim.accessToken.status?.jti]);
    expect(sim.token()).toBe(token);
    expect(outcome.finalizer).toBe("remove");
    // Then nothing more to write.
    expect((await sim.reconcile(after(H))).secret).toBeNull();
  });

  it("holds the AccessToken's finalizer while its Secret, deleted by hand, waits on its own, and does not revoke the token", async () => {
    const sim = await issuedSim();
    const first = sim.accessToken.status?.jti ?? "";
    sim.secret = { ...sim.secret!, metadata: { ...sim.secret!.metadata, deletionTimestamp: iso(after(H)) } };
    const waiting = await sim.reconcile(after(H));
    expect(waiting.plan.action).toBe("keep");
    expect(waiting.secret).toBeNull();
    expect(waiting.revocations).toEqual([]);
    expect(waiting.finalizer).toBe("ensure");
    sim.secret = null;
    const reissued = await sim.reconcile(after(H));
    expect(reissued.plan).toMatchObject({ action: "issue", cause: "secretMissing" });
    expect(jtis(sim)).toEqual([first, sim.accessToken.status?.jti]);
    expect(reissued.finalizer).toBe("remove");
  });

  it("holds the AccessToken's finalizer while a Secret of someone else's stands where its token was", async () => {
    const sim = await issuedSim();
    sim.secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "ci", namespace: "acme" }, type: "Opaque" };
    const outcome = await sim.reconcile(after(H));
    expect(outcome.plan).toMatchObject({ action: "fail", reason: "TokenSecretConflict" });
    expect(outcome.secret).toBeNull();
    expect(outcome.finalizer).toBe("ensure");
  });

  it("keeps the record in the Secret of a revoked AccessToken, without its token", async () => {
    const sim = await issuedSim();
    const jti = sim.accessToken.status?.jti;
    sim.setSpec({ revoked: true });
    const outcome = await sim.reconcile(after(H));
    expect(outcome.secret?.data).toEqual({});
    expect(outcome.secret?.metadata.finalizers).toEqual(["keyward.dev/revocation"]);
    expect(jtis(sim)).toEqual([jti]);
    expect(outcome.finalizer).toBe("remove");
  });

  it("records a token without exp as such", async () => {
    const sim = await issuedSim({ neverExpires: true }, policyOf({ allowNeverExpires: true }));
    expect(secretRecord(sim.secret!)).toEqual([{ jti: sim.accessToken.status?.jti, kid: k1.kid }]);
  });
});
