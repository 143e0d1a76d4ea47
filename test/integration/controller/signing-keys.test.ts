// Where the private signing keys live, on a real API server: in keyward's system
// namespace, never in the tenant's, so the built-in `edit` role of a tenant reads
// no private key; keys kept in the tenant by earlier releases move there without a
// rotation and without a token failing; an ApiKey's Secret goes with it, and the
// sweep deletes one whose ApiKey went without the controller.

import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKey } from "../../../src/api/index.ts";
import { kubeRequest } from "../../../src/controlplane/index.ts";
import { serializeSigningKeys, type SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import { signingKeySecret } from "../../../src/model/signing-key/secret.ts";
import { generateSigningKey, issueAccessTokenSync, type PrivateJwk } from "../../../src/token/index.ts";
import { createNamespace, eventually, keywardObject, Kube, useNamespace, type KubeObject } from "../harness/index.ts";
import {
  accessTokenWhen,
  apiKeyRef,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  decode,
  eventsOf,
  getApiKey,
  isTrue,
  ISSUER,
  keySecretRef,
  OffsetClock,
  readBundle,
  runController,
  settled,
  verify,
  type SecretLike,
  type TestController,
  systemNamespaceFor,
} from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "signing-keys");
/** keyward's own namespace of the controllers of this file (support.ts, runController). */
const systemNamespace = (): string => `${ns.name}-kw`;
const clock = new OffsetClock();
let identity: KubeConfig;
let ctl: TestController | undefined;

const secretRef = (name: string): { apiVersion: string; kind: string; namespace: string; name: string } => ({ apiVersion: "v1", kind: "Secret", namespace: ns.name, name });

async function apiKey(name: string, spec: Record<string, unknown> = {}): Promise<ApiKey> {
  await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name, namespace: ns.name }, spec: { policies: ["reads"], ...spec } });
  return getApiKey(kube, ns.name, name);
}

async function start(): Promise<void> {
  ctl = await runController(identity, ns.name, { clock });
}

async function settledNow(): Promise<void> {
  if (ctl === undefined) throw new Error("no controller runs");
  await settled(ctl.running);
}

async function stop(): Promise<void> {
  await ctl?.running.stop();
  ctl = undefined;
}

/** What verify() says about `token` against the tenant bundle now. */
async function verdict(token: string): Promise<string> {
  const bundle = await readBundle(kube, ns.name);
  if (bundle === undefined) return "no bundle";
  const r = verify(token, bundle, clock.now());
  return r.ok ? "ok" : r.error.code;
}

/** The signing-key document as keyward's earlier releases kept it: in `<apikey>-signing-keys` in the tenant. */
function legacySecret(k: ApiKey, doc: SigningKeyDocument): SecretLike {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: `${k.metadata.name ?? ""}-signing-keys`,
      namespace: ns.name,
      labels: { "app.kubernetes.io/managed-by": "keyward", "keyward.dev/api-key": k.metadata.name ?? "" },
      ownerReferences: [{ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", name: k.metadata.name ?? "", uid: k.metadata.uid ?? "", controller: true, blockOwnerDeletion: true }],
    },
    type: "keyward.dev/signing-key",
    data: { "keys.json": Buffer.from(serializeSigningKeys(doc)).toString("base64") },
  };
}

function documentOf(key: PrivateJwk, at: Date, observed: SigningKeyDocument["observedRequests"] = {}): SigningKeyDocument {
  const t = at.toISOString().replace(/\.\d{3}Z$/, "Z");
  return { version: 1, keys: [{ jwk: key, state: "active", createdAt: t, activatesAt: t, notAfter: null }], lastRotationTime: t, observedRequests: observed, revokedBefore: null };
}

function kidsOf(secret: SecretLike): string[] {
  return (JSON.parse(decode(secret, "keys.json")) as { keys: { jwk: { kid: string } }[] }).keys.map((k) => k.jwk.kid);
}

/** Every JSON object member named `d` (a private JWK's private exponent or scalar) anywhere in `value`, strings holding JSON or base64 JSON included. */
function privateMembersIn(value: unknown): string[] {
  if (typeof value === "string") {
    for (const text of [value, Buffer.from(value, "base64").toString("utf8")]) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (typeof parsed === "object" && parsed !== null) return privateMembersIn(parsed);
      } catch {
        // not JSON
      }
    }
    return [];
  }
  if (Array.isArray(value)) return value.flatMap(privateMembersIn);
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => (k === "d" && typeof v === "string" ? [v] : privateMembersIn(v)));
  }
  return [];
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  // The controllers' system namespace exists before anything of an earlier release is put there.
  await systemNamespaceFor(ns.name);
  await kube.create(keywardObject("AccessPolicy", ns.name, "reads", { rules: [{ methods: ["GET"], paths: ["/api/**"] }] }));
});

afterAll(async () => {
  await stop();
});

describe("keys kept in the tenant namespace by an earlier release", () => {
  const now = new Date(clock.now() - 3_600_000);
  let moving: ApiKey;
  let halfMoved: ApiKey;
  let movingKey: PrivateJwk;
  let halfMovedKey: PrivateJwk;
  let before: string;

  beforeAll(async () => {
    // As the earlier controller left them: the keys in the tenant, a request value acted on, a token out there.
    [movingKey, halfMovedKey] = await Promise.all([generateSigningKey(), generateSigningKey()]);
    moving = await apiKey("moving", { rotate: "r1" });
    await kube.create(legacySecret(moving, documentOf(movingKey, now, { rotate: "r1" })));
    before = issueAccessTokenSync({ key: movingKey, issuer: ISSUER, apiKey: "moving", tenant: ns.name, now, lifetimeSeconds: 24 * 3600 }).token;
    // A controller stopped between the copy and deleting the legacy Secret.
    halfMoved = await apiKey("half-moved");
    const doc = documentOf(halfMovedKey, now);
    await kube.create(legacySecret(halfMoved, doc));
    await kube.create(signingKeySecret(systemNamespace(), { namespace: ns.name, name: "half-moved", uid: halfMoved.metadata.uid ?? "" }, doc) as unknown as KubeObject);
    await start();
  });

  it("move to the system namespace unchanged, the legacy Secret goes, and tokens signed before and after verify; no rotation", async () => {
    const moved = await eventually("the keys of moving in the system namespace", () => kube.find<SecretLike>(keySecretRef(ns.name, "moving")));
    expect(kidsOf(moved)).toEqual([movingKey.kid]);
    expect(JSON.parse(decode(moved, "keys.json"))).toEqual(JSON.parse(serializeSigningKeys(documentOf(movingKey, now, { rotate: "r1" }))));
    await eventually("the legacy Secret of moving deleted", async () => (await kube.find(secretRef("moving-signing-keys"))) === undefined);

    const k = await apiKeyWhen(kube, ns.name, "moving", (x) => isTrue(condition(x, "Ready")) && isTrue(condition(x, "Published")), "Ready and Published");
    expect(k.status?.keys?.map((x) => x.kid)).toEqual([movingKey.kid]);
    expect(k.status?.activeKid).toBe(movingKey.kid);
    expect(k.status?.secretName).toBe(moved.metadata.name);
    expect(k.status?.observedRequests).toEqual({ rotate: "r1" });
    expect(await verdict(before)).toBe("ok");

    await kube.create(keywardObject("AccessToken", ns.name, "moving-token", { apiKeyName: "moving" }));
    await accessTokenWhen(kube, ns.name, "moving-token", (t) => isTrue(condition(t, "Ready")), "Ready");
    const after = await currentToken(kube, ns.name, "moving-token");
    expect(await verdict(after)).toBe("ok");
    expect(await verdict(before)).toBe("ok");
    expect((await getApiKey(kube, ns.name, "moving")).status?.keys?.map((x) => x.kid)).toEqual([movingKey.kid]);
    const reasons = (await eventsOf(kube, ns.name, "moving")).map((e) => e.reason);
    for (const r of ["SigningKeyLost", "RotationStarted", "AllKeysRevoked"]) expect(reasons).not.toContain(r);
  });

  it("finish moving after a stop between the copy and the deletion: the legacy Secret goes, the keys stay", async () => {
    await eventually("the legacy Secret of half-moved deleted", async () => (await kube.find(secretRef("half-moved-signing-keys"))) === undefined);
    expect(kidsOf(await kube.get<SecretLike>(keySecretRef(ns.name, "half-moved")))).toEqual([halfMovedKey.kid]);
    const k = await apiKeyWhen(kube, ns.name, "half-moved", (x) => isTrue(condition(x, "Ready")), "Ready");
    expect(k.status?.keys?.map((x) => x.kid)).toEqual([halfMovedKey.kid]);
  });
});

describe("a user bound only to the built-in edit ClusterRole in the tenant", () => {
  const user = `tenant-editor-${Math.random().toString(36).slice(2, 8)}`;
  let asUser: KubeConfig;

  beforeAll(async () => {
    if (ctl === undefined) await start();
    await apiKey("reporting");
    await kube.create(keywardObject("AccessToken", ns.name, "reporting-token", { apiKeyName: "reporting" }));
    await accessTokenWhen(kube, ns.name, "reporting-token", (t) => isTrue(condition(t, "Ready")), "Ready");
    await kube.create({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "tenant-editor", namespace: ns.name },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }],
    });
    // The test's admin credentials, impersonating the user: the API server authorizes every request as the user.
    asUser = new KubeConfig();
    asUser.loadFromOptions({
      clusters: kube.kc.clusters,
      users: kube.kc.users.map((u) => ({ ...u, impersonateUser: user })),
      contexts: kube.kc.contexts,
      currentContext: kube.kc.currentContext,
    });
  });

  it("cannot read any private key: every Secret of the tenant it can list and get holds no private JWK member", async () => {
    const base = `/api/v1/namespaces/${ns.name}/secrets`;
    const list = await eventually("the edit RoleBinding to take effect", async () => {
      const res = await kubeRequest(asUser, { method: "GET", path: base });
      return res.status === 200 ? (JSON.parse(res.body) as { items: SecretLike[] }) : undefined;
    });
    expect(list.items.map((s) => s.metadata.name)).toContain("reporting-token");
    expect(privateMembersIn(list.items)).toEqual([]);
    for (const s of list.items) {
      const res = await kubeRequest(asUser, { method: "GET", path: `${base}/${s.metadata.name}` });
      expect(res.status).toBe(200);
      expect(privateMembersIn(JSON.parse(res.body))).toEqual([]);
    }
    // The keys exist, where the user cannot read them.
    const keys = await kube.get<SecretLike>(keySecretRef(ns.name, "reporting"));
    expect(privateMembersIn(keys).length).toBeGreaterThan(0);
    const denied = await kubeRequest(asUser, { method: "GET", path: `/api/v1/namespaces/${systemNamespace()}/secrets/${keys.metadata.name}` });
    expect(denied.status).toBe(403);
    expect((await kubeRequest(asUser, { method: "GET", path: `/api/v1/namespaces/${systemNamespace()}/secrets` })).status).toBe(403);
  });
});

describe("an ApiKey's Secret in the system namespace", () => {
  beforeAll(async () => {
    if (ctl === undefined) await start();
  });

  it("is deleted with its ApiKey", async () => {
    await apiKey("short-lived");
    await apiKeyWhen(kube, ns.name, "short-lived", (k) => isTrue(condition(k, "Published")), "Published");
    expect(await kube.find(keySecretRef(ns.name, "short-lived"))).toBeDefined();
    await kube.delete(apiKeyRef(ns.name, "short-lived"));
    await eventually("the ApiKey gone", async () => (await kube.find(apiKeyRef(ns.name, "short-lived"))) === undefined);
    expect(await kube.find(keySecretRef(ns.name, "short-lived"))).toBeUndefined();
  });

  it("is swept when its ApiKey went while no controller ran, and when its ApiKey was force-deleted; never another tenant's", async () => {
    const other = await createNamespace(kube, "signing-keys-other");
    await apiKey("forgotten");
    await apiKeyWhen(kube, ns.name, "forgotten", (k) => isTrue(condition(k, "Published")), "Published");
    await settledNow();
    await stop();
    // Deleted while no controller ran, its finalizer taken off by hand.
    await kube.mergePatch(apiKeyRef(ns.name, "forgotten"), { metadata: { finalizers: null } });
    await kube.delete(apiKeyRef(ns.name, "forgotten"));
    await eventually("the ApiKey gone", async () => (await kube.find(apiKeyRef(ns.name, "forgotten"))) === undefined);
    // A Secret for an ApiKey of a namespace this controller does not watch: not its to judge.
    const key = await generateSigningKey();
    const foreign = signingKeySecret(systemNamespace(), { namespace: other, name: "elsewhere", uid: "00000000-0000-4000-8000-000000000000" }, documentOf(key, new Date()));
    await kube.create(foreign as unknown as KubeObject);
    expect(await kube.find(keySecretRef(ns.name, "forgotten"))).toBeDefined();

    await start();
    await eventually("the Secret of the forgotten ApiKey swept", async () => (await kube.find(keySecretRef(ns.name, "forgotten"))) === undefined);

    // Force-deleted while the controller runs: the finalizer taken off and the ApiKey deleted at once.
    await apiKey("forced");
    await apiKeyWhen(kube, ns.name, "forced", (k) => isTrue(condition(k, "Published")), "Published");
    await kube.mergePatch(apiKeyRef(ns.name, "forced"), { metadata: { finalizers: null } });
    await kube.delete(apiKeyRef(ns.name, "forced"));
    await eventually("the Secret of the force-deleted ApiKey swept", async () => (await kube.find(keySecretRef(ns.name, "forced"))) === undefined);

    await settledNow();
    const foreignRef = { apiVersion: "v1", kind: "Secret", namespace: systemNamespace(), name: foreign.metadata.name };
    expect(await kube.find(foreignRef)).toBeDefined();
    expect(await kube.find(keySecretRef(ns.name, "reporting"))).toBeDefined();
    await kube.delete(foreignRef);
    await kube.delete({ apiVersion: "v1", kind: "Namespace", name: other });
  });
});
