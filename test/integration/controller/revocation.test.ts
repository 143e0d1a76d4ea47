// Acceptance 5 and 6: revocation (dropDeposed, revokeAll, revokeIssuedBefore, an
// AccessToken revoked or deleted) and suspension, each reflected in the tenant
// bundle, whose generation grows on every content change and only then.

import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatTime } from "../../../src/model/policy/time.ts";
import type { Bundle } from "../../../src/token/index.ts";
import { eventually, keywardObject, Kube, useNamespace } from "../harness/index.ts";
import {
  accessTokenRef,
  accessTokenWhen,
  apiKeyRef,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  eventSeen,
  isTrue,
  OffsetClock,
  readBundle,
  runController,
  settled,
  verify,
  type SecretLike,
  type TestController,
} from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "ctl-revocation");
const clock = new OffsetClock();
let identity: KubeConfig;
let ctl: TestController;
const MINUTE = 60_000;

/** Every bundle generation seen, with its content; asserts generation grows exactly when content changes. */
const seen: Bundle[] = [];

async function bundle(): Promise<Bundle> {
  await settled(ctl.running);
  const b = await readBundle(kube, ns.name);
  if (b === undefined) throw new Error("no bundle");
  const last = seen.at(-1);
  if (last !== undefined) {
    const content = (x: Bundle): string => JSON.stringify({ ...x, generation: 0, generatedAt: "" });
    if (content(last) === content(b)) expect(b.generation).toBe(last.generation);
    else expect(b.generation).toBeGreaterThan(last.generation);
  }
  seen.push(b);
  return b;
}

async function tokenOf(name: string): Promise<string> {
  return currentToken(kube, ns.name, name);
}

async function verdict(token: string): Promise<string> {
  const r = verify(token, await bundle(), clock.now());
  return r.ok ? "ok" : r.error.code;
}

async function newToken(name: string, lifetime = "2h"): Promise<string> {
  await kube.create({
    apiVersion: "keyward.dev/v1alpha1",
    kind: "AccessToken",
    metadata: { name, namespace: ns.name },
    spec: { apiKeyName: "payments", lifetime },
  });
  await accessTokenWhen(kube, ns.name, name, (t) => isTrue(condition(t, "Ready")), "Ready");
  return tokenOf(name);
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  await kube.create(keywardObject("AccessPolicy", ns.name, "all-reads", { rules: [{ methods: ["GET"], paths: ["/**"] }] }));
  await kube.create(keywardObject("RotationPolicy", ns.name, "daily", { schedule: { every: "24h" }, prePublish: "5m", grace: "48h" }));
  ctl = await runController(identity, ns.name, { clock });
  await kube.create(keywardObject("ApiKey", ns.name, "payments", { rotationPolicyRef: { kind: "RotationPolicy", name: "daily" }, policies: ["all-reads"] }));
  await apiKeyWhen(kube, ns.name, "payments", (k) => isTrue(condition(k, "Ready")) && isTrue(condition(k, "Published")), "Ready");
});

afterAll(async () => {
  await ctl.running.stop();
});

describe("revocation", () => {
  it("dropDeposed removes the deposed key: its tokens stop verifying, current ones keep working", async () => {
    const main = await newToken("main");
    await kube.mergePatch(apiKeyRef(ns.name, "payments"), { spec: { rotate: "r1" } });
    const rotating = await apiKeyWhen(kube, ns.name, "payments", (k) => k.status?.keys?.some((x) => x.state === "prepared") === true, "a prepared key");
    clock.advanceTo(Date.parse(rotating.status?.keys?.find((x) => x.state === "prepared")?.activatesAt ?? "") + 1000);
    const rotated = await apiKeyWhen(kube, ns.name, "payments", (k) => k.status?.keys?.some((x) => x.state === "deposed") === true, "a deposed key");
    await accessTokenWhen(kube, ns.name, "main", (t) => t.status?.kid === rotated.status?.activeKid, "re-issued with the new key");
    const current = await tokenOf("main");
    expect(await verdict(main)).toBe("ok");

    await kube.mergePatch(apiKeyRef(ns.name, "payments"), { spec: { dropDeposed: "d1" } });
    await apiKeyWhen(kube, ns.name, "payments", (k) => k.status?.observedRequests?.dropDeposed === "d1", "the drop acted on");
    expect(await verdict(main)).toBe("ERR_KEY_UNKNOWN");
    expect(await verdict(current)).toBe("ok");
    await eventSeen(kube, ns.name, "payments", "DeposedKeyDropped");
  });

  it("revokeAll replaces every key at once: no earlier token verifies, AccessTokens get new ones", async () => {
    const before = await tokenOf("main");
    const kid = (await apiKeyWhen(kube, ns.name, "payments", () => true, "exists")).status?.activeKid;
    await kube.mergePatch(apiKeyRef(ns.name, "payments"), { spec: { revokeAll: "incident-1" } });
    const after = await apiKeyWhen(kube, ns.name, "payments", (k) => k.status?.observedRequests?.revokeAll === "incident-1", "revokeAll acted on");
    expect(after.status?.keys?.map((k) => k.state)).toEqual(["active"]);
    expect(after.status?.activeKid).not.toBe(kid);
    await accessTokenWhen(kube, ns.name, "main", (t) => t.status?.kid === after.status?.activeKid, "re-issued");
    expect(await verdict(before)).toBe("ERR_KEY_UNKNOWN");
    expect(await verdict(await tokenOf("main"))).toBe("ok");
    await eventSeen(kube, ns.name, "payments", "AllKeysRevoked");
  });

  it("revokeIssuedBefore refuses tokens issued before the cut-off; AccessTokens are re-issued after it", async () => {
    const before = await tokenOf("main");
    const jti = (await accessTokenWhen(kube, ns.name, "main", () => true, "exists")).status?.jti;
    clock.advance(MINUTE);
    const cutoff = formatTime(new Date(Math.floor(clock.now() / 1000) * 1000));
    await kube.mergePatch(apiKeyRef(ns.name, "payments"), { spec: { revokeIssuedBefore: cutoff } });
    await accessTokenWhen(kube, ns.name, "main", (t) => t.status?.jti !== jti, "re-issued after the cut-off");
    const b = await bundle();
    expect(b.apiKeys.payments?.revokedBefore).toBe(cutoff);
    expect(await verdict(before)).toBe("ERR_TOKEN_ISSUED_BEFORE_REVOCATION");
    expect(await verdict(await tokenOf("main"))).toBe("ok");
  });

  it("a revoked AccessToken's token goes on the revocation list and out of its Secret", async () => {
    const token = await newToken("revoked-one");
    const jti = (await accessTokenWhen(kube, ns.name, "revoked-one", () => true, "exists")).status?.jti ?? "";
    await kube.mergePatch(accessTokenRef(ns.name, "revoked-one"), { spec: { revoked: true } });
    const at = await accessTokenWhen(kube, ns.name, "revoked-one", (t) => isTrue(condition(t, "Revoked")), "Revoked");
    expect(condition(at, "Ready")?.reason).toBe("Revoked");
    expect(at.status?.revokedAt).toBeDefined();
    await eventually("the Secret emptied", async () => {
      const s = await kube.get<SecretLike>({ apiVersion: "v1", kind: "Secret", namespace: ns.name, name: "revoked-one" });
      return s.data?.token === undefined;
    });
    const b = await bundle();
    expect(b.revoked).toEqual(expect.arrayContaining([expect.objectContaining({ jti, apiKey: "payments" })]));
    expect(await verdict(token)).toBe("ERR_TOKEN_REVOKED");
  });

  it("a deleted AccessToken's jti goes on the revocation list, which keeps it until the token expires", async () => {
    const token = await newToken("deleted-one", "1h");
    const at = await accessTokenWhen(kube, ns.name, "deleted-one", () => true, "exists");
    const jti = at.status?.jti ?? "";
    await kube.delete(accessTokenRef(ns.name, "deleted-one"));
    await eventually("the AccessToken gone", async () => (await kube.find(accessTokenRef(ns.name, "deleted-one"))) === undefined);
    let b = await bundle();
    expect(b.revoked.map((r) => r.jti)).toContain(jti);
    expect(await verdict(token)).toBe("ERR_TOKEN_REVOKED");

    // Still listed after a restart (the ConfigMap is the record), then pruned once the token has expired.
    await ctl.running.stop();
    ctl = await runController(identity, ns.name, { clock });
    b = await bundle();
    expect(b.revoked.map((r) => r.jti)).toContain(jti);
    clock.advanceTo(Date.parse(at.status?.expiresAt ?? "") + 6 * MINUTE);
    await eventually("the expired entry pruned", async () => !(await bundle()).revoked.some((r) => r.jti === jti));
  });

  it("does not change the bundle's generation while its content stays the same", async () => {
    const b = await bundle();
    ctl.running.resync();
    expect((await bundle()).generation).toBe(b.generation);
    expect(seen.length).toBeGreaterThan(5);
  });
});

describe("suspension", () => {
  it("is reflected in the bundle: the key's tokens are refused while suspended and accepted after", async () => {
    const token = await tokenOf("main");
    expect(await verdict(token)).toBe("ok");
    await kube.mergePatch(apiKeyRef(ns.name, "payments"), { spec: { suspended: true } });
    const k = await apiKeyWhen(kube, ns.name, "payments", (x) => condition(x, "Ready")?.reason === "Suspended", "Suspended");
    expect(condition(k, "Ready")?.status).toBe("False");
    await eventually("the bundle to say suspended", async () => (await bundle()).apiKeys.payments?.suspended === true);
    expect(await verdict(token)).toBe("ERR_API_KEY_SUSPENDED");
    await accessTokenWhen(kube, ns.name, "main", (t) => condition(t, "Ready")?.reason === "ApiKeySuspended", "not ready: suspended");

    await kube.mergePatch(apiKeyRef(ns.name, "payments"), { spec: { suspended: false } });
    await eventually("the bundle to say resumed", async () => (await bundle()).apiKeys.payments?.suspended === false);
    expect(await verdict(token)).toBe("ok");
    await accessTokenWhen(kube, ns.name, "main", (t) => isTrue(condition(t, "Ready")), "Ready again");
    await apiKeyWhen(kube, ns.name, "payments", (x) => isTrue(condition(x, "Ready")), "Ready again");
  });
});
