// Acceptance 7, 8 and 9: deleting an ApiKey (out of the bundle first, then its
// Secrets are collected, its AccessTokens say why they are not ready); bad input
// (a condition and an Event naming the field and the fix, nothing else changed);
// drift (token Secrets deleted or edited, a hand-edited bundle, a deleted
// signing-key Secret).

import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, keywardObject, Kube, type KubeObject, useNamespace } from "../harness/index.ts";
import {
  accessTokenWhen,
  apiKeyRef,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  eventSeen,
  eventsOf,
  isTrue,
  OffsetClock,
  readBundle,
  runController,
  settled,
  verify,
  keySecretRef,
  type SecretLike,
  type TestController,
} from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "ctl-lifecycle");
const clock = new OffsetClock();
let identity: KubeConfig;
let ctl: TestController;

const secretRef = (name: string): { apiVersion: string; kind: string; namespace: string; name: string } => ({ apiVersion: "v1", kind: "Secret", namespace: ns.name, name });

async function apiKey(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name, namespace: ns.name }, spec: { policies: ["reads"], ...spec } });
}

async function accessToken(name: string, spec: Record<string, unknown>): Promise<void> {
  await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", metadata: { name, namespace: ns.name }, spec });
}

async function tokenOf(name: string): Promise<string> {
  return currentToken(kube, ns.name, name);
}

async function verdict(token: string): Promise<string> {
  await settled(ctl.running);
  const b = await readBundle(kube, ns.name);
  if (b === undefined) return "no bundle";
  const r = verify(token, b, clock.now());
  return r.ok ? "ok" : r.error.code;
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  await kube.create(keywardObject("AccessPolicy", ns.name, "reads", { rules: [{ methods: ["GET"], paths: ["/api/**"] }] }));
  await kube.create(keywardObject("RotationPolicy", ns.name, "strict", { schedule: { every: "24h" }, defaultTokenLifetime: "1h", maxTokenLifetime: "24h", allowNeverExpires: false }));
  ctl = await runController(identity, ns.name, { clock });
});

afterAll(async () => {
  await ctl.running.stop();
});

describe("deleting an ApiKey", () => {
  it("takes it out of the bundle first, then deletes its signing-key Secret in the system namespace and lets it go; its AccessTokens say why they are not ready", async () => {
    await apiKey("leaving", { rotationPolicyRef: { kind: "RotationPolicy", name: "strict" } });
    await accessToken("leaving-token", { apiKeyName: "leaving" });
    await accessTokenWhen(kube, ns.name, "leaving-token", (t) => isTrue(condition(t, "Ready")), "Ready");
    const token = await tokenOf("leaving-token");
    expect(await verdict(token)).toBe("ok");

    // A finalizer of the test's own holds the ApiKey, so the moment between "out of the bundle" and "gone" can be seen.
    await kube.mergePatch(apiKeyRef(ns.name, "leaving"), { metadata: { finalizers: ["keyward.dev/bundle", "test.keyward.dev/hold"] } });
    await kube.delete(apiKeyRef(ns.name, "leaving"));
    const held = await apiKeyWhen(kube, ns.name, "leaving", (k) => !(k.metadata.finalizers ?? []).includes("keyward.dev/bundle"), "its finalizer removed");
    expect(held.metadata.deletionTimestamp).toBeDefined();
    const bundle = await readBundle(kube, ns.name);
    expect(bundle?.apiKeys.leaving).toBeUndefined();
    expect(bundle?.keys.filter((k) => k.apiKey === "leaving")).toEqual([]);
    // No owner reference reaches across namespaces: the controller deleted the Secret before letting its finalizer go.
    expect(await kube.find(keySecretRef(ns.name, "leaving"))).toBeUndefined();
    expect(await verdict(token)).toBe("ERR_KEY_UNKNOWN");
    await accessTokenWhen(kube, ns.name, "leaving-token", (t) => condition(t, "Ready")?.reason === "ApiKeyNotFound", "not ready: ApiKeyNotFound");

    await kube.mergePatch(apiKeyRef(ns.name, "leaving"), { metadata: { finalizers: null } });
    await eventually("the ApiKey gone", async () => (await kube.find(apiKeyRef(ns.name, "leaving"))) === undefined);
    const at = await accessTokenWhen(kube, ns.name, "leaving-token", (t) => condition(t, "Ready")?.reason === "ApiKeyNotFound", "not ready");
    expect(condition(at, "Ready")?.message).toContain('spec.apiKeyName names ApiKey "leaving", which does not exist');
  });
});

describe("bad input", () => {
  async function warning(name: string, reason: string): Promise<string> {
    const e = await eventually(`a ${reason} Event on ${name}`, async () => (await eventsOf(kube, ns.name, name)).find((x) => x.reason === reason));
    expect(e.type).toBe("Warning");
    return e.message ?? "";
  }

  async function untouched(kind: "ApiKey" | "AccessToken", name: string, spec: Record<string, unknown>): Promise<KubeObject> {
    const obj = await kube.get({ apiVersion: "keyward.dev/v1alpha1", kind, namespace: ns.name, name });
    expect(obj.metadata.finalizers ?? []).toEqual([]);
    expect(obj.metadata.generation).toBe(1);
    expect(obj.spec).toEqual(expect.objectContaining(spec));
    return obj;
  }

  it("an unknown AccessPolicy: AccessPoliciesResolved is False, an Event names spec.policies, the bundle grants nothing for it", async () => {
    await apiKey("typo", { policies: ["reads", "raeds"] });
    const k = await apiKeyWhen(kube, ns.name, "typo", (x) => condition(x, "AccessPoliciesResolved")?.status === "False", "AccessPolicyNotFound");
    expect(condition(k, "AccessPoliciesResolved")?.reason).toBe("AccessPolicyNotFound");
    expect(condition(k, "AccessPoliciesResolved")?.message).toContain("raeds");
    expect(await warning("typo", "AccessPolicyNotFound")).toMatch(/spec\.policies.*raeds.*create or fix them, or remove them from spec\.policies/);
    expect((await readBundle(kube, ns.name))?.apiKeys.typo?.policies).toEqual(["reads"]);
  });

  it("a missing RotationPolicy: not Ready, an Event naming spec.rotationPolicyRef; no key, no Secret, no finalizer", async () => {
    await apiKey("no-policy", { rotationPolicyRef: { kind: "RotationPolicy", name: "nope" } });
    const k = await apiKeyWhen(kube, ns.name, "no-policy", (x) => condition(x, "Ready")?.reason === "RotationPolicyNotFound", "RotationPolicyNotFound");
    expect(condition(k, "RotationPolicyResolved")?.status).toBe("False");
    expect(await warning("no-policy", "RotationPolicyNotFound")).toMatch(/spec\.rotationPolicyRef names RotationPolicy "nope".*create it/);
    expect(k.status?.keys).toBeUndefined();
    await settled(ctl.running);
    expect(await kube.find(keySecretRef(ns.name, "no-policy"))).toBeUndefined();
    await untouched("ApiKey", "no-policy", { rotationPolicyRef: { kind: "RotationPolicy", name: "nope" } });
  });

  it("a lifetime beyond the policy's maximum, or neverExpires where forbidden: not Ready, an Event naming the field; no token", async () => {
    await apiKey("bounded", { rotationPolicyRef: { kind: "RotationPolicy", name: "strict" } });
    await apiKeyWhen(kube, ns.name, "bounded", (x) => isTrue(condition(x, "Ready")), "Ready");
    await accessToken("too-long", { apiKeyName: "bounded", lifetime: "48h" });
    await accessToken("forever", { apiKeyName: "bounded", neverExpires: true });
    const long = await accessTokenWhen(kube, ns.name, "too-long", (t) => condition(t, "Ready")?.reason === "LifetimeExceedsPolicy", "LifetimeExceedsPolicy");
    expect(condition(long, "Ready")?.message).toMatch(/spec\.lifetime \(48h\) is longer than the maxTokenLifetime.*shorten spec\.lifetime/);
    expect(await warning("too-long", "LifetimeExceedsPolicy")).toContain("spec.lifetime");
    const forever = await accessTokenWhen(kube, ns.name, "forever", (t) => condition(t, "Ready")?.reason === "NeverExpiresNotAllowed", "NeverExpiresNotAllowed");
    expect(condition(forever, "Ready")?.message).toMatch(/spec\.neverExpires is true.*set spec\.lifetime instead/);
    expect(await warning("forever", "NeverExpiresNotAllowed")).toContain("spec.neverExpires");
    await settled(ctl.running);
    for (const name of ["too-long", "forever"]) {
      expect(await kube.find(secretRef(name))).toBeUndefined();
      const at = await untouched("AccessToken", name, { apiKeyName: "bounded" });
      expect((at.status as { jti?: string }).jti).toBeUndefined();
    }
  });

  it("an AccessToken naming a missing ApiKey: not Ready, an Event naming spec.apiKeyName; no token", async () => {
    await accessToken("orphan", { apiKeyName: "ghost" });
    const at = await accessTokenWhen(kube, ns.name, "orphan", (t) => condition(t, "Ready")?.reason === "ApiKeyNotFound", "ApiKeyNotFound");
    expect(condition(at, "Ready")?.message).toMatch(/spec\.apiKeyName names ApiKey "ghost", which does not exist/);
    expect(await warning("orphan", "ApiKeyNotFound")).toContain("spec.apiKeyName");
    await settled(ctl.running);
    expect(await kube.find(secretRef("orphan"))).toBeUndefined();
    await untouched("AccessToken", "orphan", { apiKeyName: "ghost" });
  });

  it("records each problem once, however often it is reconciled", async () => {
    ctl.running.resync();
    await settled(ctl.running);
    for (const [name, reason] of [["orphan", "ApiKeyNotFound"], ["no-policy", "RotationPolicyNotFound"], ["typo", "AccessPolicyNotFound"]] as const) {
      const events = (await eventsOf(kube, ns.name, name)).filter((e) => e.reason === reason);
      expect({ name, events: events.length, count: events[0]?.count }).toEqual({ name, events: 1, count: 1 });
    }
  });
});

describe("drift", () => {
  it("re-issues the token when its Secret is deleted or edited", async () => {
    await apiKey("drifty", { rotationPolicyRef: { kind: "RotationPolicy", name: "strict" } });
    await accessToken("drifty-token", { apiKeyName: "drifty" });
    const first = await accessTokenWhen(kube, ns.name, "drifty-token", (t) => isTrue(condition(t, "Ready")), "Ready");

    await kube.delete(secretRef("drifty-token"));
    const second = await accessTokenWhen(kube, ns.name, "drifty-token", (t) => t.status?.jti !== first.status?.jti, "re-issued after deletion");
    expect(await verdict(await tokenOf("drifty-token"))).toBe("ok");
    expect((await kube.get<SecretLike>(secretRef("drifty-token"))).metadata.annotations?.["keyward.dev/jti"]).toBe(second.status?.jti);

    await kube.mergePatch(secretRef("drifty-token"), { data: { token: Buffer.from("eyJhbGciOiJub25lIn0.e30.").toString("base64") } });
    const third = await accessTokenWhen(kube, ns.name, "drifty-token", (t) => t.status?.jti !== second.status?.jti, "re-issued after an edit");
    const token = await tokenOf("drifty-token");
    expect(await verdict(token)).toBe("ok");
    expect(third.status?.issued?.map((e) => e.jti)).toEqual([first.status?.jti, second.status?.jti, third.status?.jti]);
    await eventSeen(kube, ns.name, "drifty-token", "TokenReissued", 2);
  });

  it("rewrites a hand-edited bundle from the controller's record, under the generation it had", async () => {
    await settled(ctl.running);
    const cm = await kube.get<KubeObject & { data: Record<string, string> }>({ apiVersion: "v1", kind: "ConfigMap", namespace: ns.name, name: "keyward-bundle" });
    const good = JSON.parse(cm.data["bundle.json"] ?? "{}") as { generation: number; apiKeys: Record<string, { suspended: boolean }> };
    const edited = { ...good, apiKeys: { ...good.apiKeys, drifty: { ...good.apiKeys.drifty, suspended: true } } };
    await kube.mergePatch(cm, { data: { "bundle.json": JSON.stringify(edited) } });
    const fixed = await eventually("the bundle rewritten", async () => {
      const b = await readBundle(kube, ns.name);
      return b !== undefined && b.generation === good.generation && b.apiKeys.drifty?.suspended === false ? b : undefined;
    });
    expect(fixed.apiKeys.drifty?.suspended).toBe(false);

    await kube.mergePatch(cm, { data: { "bundle.json": "not json" } });
    await eventually("an unreadable bundle replaced", async () => (await readBundle(kube, ns.name).catch(() => undefined))?.apiKeys.drifty !== undefined);
    await eventSeen(kube, ns.name, "keyward-bundle", "BundleReplaced");
  });

  it("mints a new key at once when the signing-key Secret is deleted, and warns that tokens of the lost key no longer verify", async () => {
    const before = await apiKeyWhen(kube, ns.name, "drifty", (k) => isTrue(condition(k, "Ready")), "Ready");
    const token = await tokenOf("drifty-token");
    await kube.delete(keySecretRef(ns.name, "drifty"));
    const after = await apiKeyWhen(kube, ns.name, "drifty", (k) => k.status?.activeKid !== before.status?.activeKid, "a new active key");
    expect(after.status?.keys?.map((k) => k.state)).toEqual(["active"]);
    const lost = await eventually("a SigningKeyLost Event", async () => (await eventsOf(kube, ns.name, "drifty")).find((e) => e.reason === "SigningKeyLost"));
    expect(lost.type).toBe("Warning");
    expect(lost.message).toContain("no longer verify");
    expect(lost.message).toContain(before.status?.activeKid ?? "?");
    await accessTokenWhen(kube, ns.name, "drifty-token", (t) => t.status?.kid === after.status?.activeKid, "re-issued with the new key");
    expect(await verdict(token)).toBe("ERR_KEY_UNKNOWN");
    expect(await verdict(await tokenOf("drifty-token"))).toBe("ok");
  });
});

