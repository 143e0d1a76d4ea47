// Acceptance 1, 2, 11 and 12: an ApiKey gets its signing key, status and bundle
// entry; an AccessToken gets a verifiable JWT that is renewed before expiry; a
// resync with nothing changed writes nothing. The controller runs under
// config/rbac's rules, not as cluster-admin.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeUnverified } from "../../../src/token/index.ts";
import type { KubeConfig } from "@kubernetes/client-node";
import { eventually, keywardObject, Kube, useNamespace } from "../harness/index.ts";
import {
  accessTokenWhen,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  decode,
  eventSeen,
  eventsOf,
  getAccessToken,
  isTrue,
  ISSUER,
  keySecretRef,
  OffsetClock,
  privateMembers,
  readBundle,
  readJwks,
  runController,
  settled,
  verify,
  type SecretLike,
  type TestController,
} from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "ctl-basics");
const clock = new OffsetClock();
let identity: KubeConfig;
let ctl: TestController;

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  await kube.create(keywardObject("AccessPolicy", ns.name, "reports-read", { rules: [{ effect: "Allow", methods: ["GET", "HEAD"], paths: ["/api/v0/reports/**"] }] }));
  await kube.create(keywardObject("RotationPolicy", ns.name, "daily", { schedule: { every: "24h" }, prePublish: "5m", grace: "48h", defaultTokenLifetime: "1h", maxTokenLifetime: "24h" }));
  ctl = await runController(identity, ns.name, { clock });
});

afterAll(async () => {
  await ctl.running.stop();
});

describe("an ApiKey", () => {
  it("gets a signing-key Secret in keyward's system namespace, a Ready status naming its key, and an entry in the tenant bundle", async () => {
    await kube.create(keywardObject("ApiKey", ns.name, "reporting", { rotationPolicyRef: { kind: "RotationPolicy", name: "daily" }, policies: ["reports-read"] }));
    const apiKey = await apiKeyWhen(kube, ns.name, "reporting", (k) => isTrue(condition(k, "Ready")) && isTrue(condition(k, "Published")), "Ready and Published");
    const status = apiKey.status ?? {};
    expect(status.keys).toHaveLength(1);
    const key = status.keys?.[0];
    expect(key?.state).toBe("active");
    expect(key?.algorithm).toBe("EdDSA");
    expect(status.activeKid).toBe(key?.kid);
    expect(status.observedGeneration).toBe(apiKey.metadata.generation);
    expect(status.nextRotationTime).toBeDefined();
    expect(condition(apiKey, "Ready")?.reason).toBe("KeysReady");
    expect(condition(apiKey, "RotationPolicyResolved")?.reason).toBe("RotationPolicyFound");
    expect(condition(apiKey, "AccessPoliciesResolved")?.status).toBe("True");
    expect(apiKey.metadata.finalizers).toContain("keyward.dev/bundle");

    const secret = await kube.get<SecretLike>(keySecretRef(ns.name, "reporting"));
    expect(secret.type).toBe("keyward.dev/signing-key");
    expect(secret.metadata.annotations).toEqual(
      expect.objectContaining({ "keyward.dev/tenant": ns.name, "keyward.dev/api-key": "reporting", "keyward.dev/api-key-uid": apiKey.metadata.uid }),
    );
    expect(status.secretName).toBe(secret.metadata.name);
    expect(await kube.find({ apiVersion: "v1", kind: "Secret", namespace: ns.name, name: "reporting-signing-keys" })).toBeUndefined();
    const doc = JSON.parse(decode(secret, "keys.json")) as { keys: { jwk: { kid: string } }[] };
    expect(doc.keys.map((k) => k.jwk.kid)).toEqual([key?.kid]);

    const bundle = await readBundle(kube, ns.name);
    expect(bundle?.tenant).toBe(ns.name);
    expect(bundle?.issuer).toBe(ISSUER);
    expect(bundle?.keys).toEqual([expect.objectContaining({ kid: key?.kid, apiKey: "reporting", state: "active", notAfter: null })]);
    expect(bundle?.apiKeys.reporting).toEqual(expect.objectContaining({ uid: apiKey.metadata.uid, policies: ["reports-read"], suspended: false }));
    expect(bundle?.policies["reports-read"]?.rules).toEqual([{ effect: "Allow", methods: ["GET", "HEAD"], paths: ["/api/v0/reports/**"] }]);
    expect((await readJwks(kube, ns.name)).keys.map((k) => k.kid)).toEqual([key?.kid]);
    expect(apiKey.status?.bundleGeneration).toBe(bundle?.generation);
  });

  it("leaves its private key nowhere but its Secret: not in status, events, the bundle or the logs", async () => {
    await settled(ctl.running);
    const secret = await kube.get<SecretLike>(keySecretRef(ns.name, "reporting"));
    const secrets = [...privateMembers(secret), secret.data?.["keys.json"] ?? "missing"];
    expect(secrets.length).toBeGreaterThan(1);
    const apiKey = await kube.get({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", namespace: ns.name, name: "reporting" });
    const cm = await kube.get({ apiVersion: "v1", kind: "ConfigMap", namespace: ns.name, name: "keyward-bundle" });
    const events = await eventsOf(kube, ns.name);
    // The first key is routine: its Ready condition tells, no Event does.
    expect((await eventsOf(kube, ns.name, "reporting")).map((e) => e.reason)).toEqual([]);
    const places = { status: JSON.stringify(apiKey), bundle: JSON.stringify(cm), events: JSON.stringify(events), logs: ctl.logs.join("\n") };
    expect(ctl.logs.length).toBeGreaterThan(0);
    for (const [place, text] of Object.entries(places)) {
      for (const s of secrets) expect({ place, leaks: text.includes(s) }).toEqual({ place, leaks: false });
    }
  });
});

describe("an AccessToken", () => {
  it("gets a Secret with a JWT that verifies against the tenant bundle, and a status naming it", async () => {
    await kube.create(keywardObject("AccessToken", ns.name, "reporting-token", { apiKeyName: "reporting", lifetime: "1h", renewBefore: "20m" }));
    const at = await accessTokenWhen(kube, ns.name, "reporting-token", (t) => isTrue(condition(t, "Ready")), "Ready");
    const status = at.status ?? {};
    expect(status.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(status.kid).toBe((await apiKeyWhen(kube, ns.name, "reporting", () => true, "exists")).status?.activeKid);
    const issuedAt = Date.parse(status.issuedAt ?? "");
    expect(Date.parse(status.expiresAt ?? "") - issuedAt).toBe(3_600_000);
    expect(Date.parse(status.renewAt ?? "") - issuedAt).toBe(40 * 60_000);
    expect(status.issued).toEqual([{ jti: status.jti, kid: status.kid, expiresAt: status.expiresAt }]);
    // The record a deletion revokes is in the token Secret, not on the AccessToken.
    expect(at.metadata.finalizers ?? []).not.toContain("keyward.dev/revocation");

    const token = await currentToken(kube, ns.name, "reporting-token");
    const secret = await kube.get<SecretLike>({ apiVersion: "v1", kind: "Secret", namespace: ns.name, name: "reporting-token" });
    expect(secret.type).toBe("keyward.dev/access-token");
    expect(secret.metadata.finalizers).toEqual(["keyward.dev/revocation"]);
    expect(JSON.parse(secret.metadata.annotations?.["keyward.dev/issued"] ?? "null")).toEqual(status.issued);
    expect(secret.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "AccessToken", name: "reporting-token", uid: at.metadata.uid, controller: true })]);
    const bundle = await readBundle(kube, ns.name);
    if (bundle === undefined) throw new Error("no bundle");
    const result = verify(token, bundle, clock.now(), "/api/v0/reports/2026");
    expect(result.ok ? { jti: result.identity.jti, apiKey: result.identity.apiKey } : result.error.code).toEqual({ jti: status.jti, apiKey: "reporting" });
    expect(JSON.stringify(at)).not.toContain(token);
    // Token format v2: the tenant's issuer, under which the token service serves discovery.
    expect(decodeUnverified(token).claims).toMatchObject({ iss: `${ISSUER}/${ns.name}`, aud: ns.name });
  });

  it("is re-issued at its renewal time, and the previous token stays valid until its own expiry", async () => {
    const before = await getAccessToken(kube, ns.name, "reporting-token");
    const oldToken = await currentToken(kube, ns.name, "reporting-token");
    clock.advanceTo(Date.parse(before.status?.renewAt ?? "") + 1000);

    const after = await accessTokenWhen(kube, ns.name, "reporting-token", (t) => t.status?.jti !== before.status?.jti, "a new token");
    expect(after.status?.issued?.map((e) => e.jti)).toEqual([before.status?.jti, after.status?.jti]);
    const newToken = await currentToken(kube, ns.name, "reporting-token");
    expect(newToken).not.toBe(oldToken);
    const bundle = await readBundle(kube, ns.name);
    if (bundle === undefined) throw new Error("no bundle");
    const ok = (r: ReturnType<typeof verify>): string => (r.ok ? "ok" : r.error.code);
    expect(ok(verify(newToken, bundle, clock.now()))).toBe("ok");
    expect(ok(verify(oldToken, bundle, clock.now()))).toBe("ok");
    const oldExpiry = Date.parse(before.status?.expiresAt ?? "");
    expect(ok(verify(oldToken, bundle, oldExpiry + 60_000))).toBe("ERR_TOKEN_EXPIRED");
    await eventSeen(kube, ns.name, "reporting-token", "TokenRenewed");
    await settled(ctl.running);
    // The first issue was routine: Ready told it, no Event did. The renewal is the one Event.
    expect((await eventsOf(kube, ns.name, "reporting-token")).map((e) => e.reason)).toEqual(["TokenRenewed"]);
  });
});

describe("at rest", () => {
  it("makes no API write on a full resync when nothing changed", async () => {
    await settled(ctl.running);
    const notLease = (_verb: string, resource: string): boolean => resource !== "leases.coordination.k8s.io";
    const before = ctl.running.writes.snapshot();
    const count = ctl.running.writes.count(notLease);
    ctl.running.resync();
    await settled(ctl.running, "the resync to be processed");
    ctl.running.resync();
    await settled(ctl.running, "the second resync to be processed");
    expect(ctl.running.writes.snapshot()).toEqual(before);
    expect(ctl.running.writes.count(notLease)).toBe(count);
  });

  it("makes no API write on the informers' own periodic resync", async () => {
    const quiet = await runController(identity, ns.name, { clock, resyncPeriodMs: 1000 });
    try {
      await settled(quiet.running);
      const informer = quiet.running.manager.informer({ group: "keyward.dev", version: "v1alpha1", plural: "accesstokens", kind: "AccessToken", namespaced: true }, { namespace: ns.name });
      const resyncs = informer.stats.resyncs;
      const writes = quiet.running.writes.snapshot();
      await settled(quiet.running);
      await eventually("two informer resyncs, processed", () => Promise.resolve(informer.stats.resyncs >= resyncs + 2 && quiet.running.idle()), { intervalMs: 50 });
      expect(quiet.running.writes.snapshot()).toEqual(writes);
    } finally {
      await quiet.running.stop();
    }
  });
});
