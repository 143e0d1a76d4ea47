// The bundle's trust boundary on a real API server. The tenant's keyward-bundle ConfigMap can be
// written by anyone bound to `edit` in the namespace; verifiers trust only bundles signed with the
// controller's bundle-signing key, published in keyward's own namespace, which tenants cannot
// write. An edit (a key added, a revocation removed, the generation raised to 2^53-1) is refused
// by a running verifier and by a freshly started one, and the controller restores the bundle
// from its own record without losing a revocation, that of a deleted AccessToken included. A
// rolled-back, validly signed bundle is refused while running (lower generation) and after a
// restart once older than --max-signature-age. The bundle-signing key rotates with overlap.

import { readFileSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { kubeRequest } from "../../../src/controlplane/index.ts";
import { generateSigningKey, issueAccessToken, parseBundle, publicJwkOf, readSignatureHeader, serializeBundle } from "../../../src/token/index.ts";
import { parseVerifierArgs, startVerifier, type RunningVerifier } from "../../../src/verifier/index.ts";
import { serviceAccountGroups, serviceAccountKubeConfig, serviceAccountUser, untilAllowed, canI } from "../../config/support/identity.ts";
import { eventually, keywardObject, Kube, type KubeObject, useNamespace } from "../harness/index.ts";
import { bearer, LogCapture, send, startUpstream, type Reply, type Upstream } from "../../verifier/support/http.ts";
import {
  accessTokenWhen,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  eventSeen,
  grantTrustRead,
  isTrue,
  ISSUER,
  OffsetClock,
  REPO_ROOT,
  runController,
  settled,
  systemNamespaceFor,
  type TestController,
} from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "bundle-trust");
const clock = new OffsetClock();
const API_KEY = "reporting";
const PATH = "/api/v0/reports";
const DEADLINE_MS = 15_000;
const HOUR = 3_600_000;
const MAX_SIGNATURE_AGE = "168h";

interface ConfigMapLike extends KubeObject {
  data?: Record<string, string>;
}

let identity: KubeConfig;
let verifierKc: KubeConfig;
let editorKc: KubeConfig;
let systemNs: string;
let ctl: TestController | null = null;
let upstream: Upstream;
const verifiers: RunningVerifier[] = [];
const tokens = new Map<string, string>();

function manifest(path: string): KubeObject {
  return parseYaml(readFileSync(new URL(path, REPO_ROOT), "utf8")) as KubeObject;
}

async function startCtl(): Promise<void> {
  ctl = await runController(identity, ns.name, { clock, bundleSigning: { rotateEveryMs: 24 * HOUR, overlapMs: 10_000, resignAfterMs: 24 * HOUR } });
}

async function stopCtl(): Promise<void> {
  await ctl?.running.stop();
  ctl = null;
}

/** A verifier watching the tenant bundle and the trust ConfigMap, as a ServiceAccount with config/verifier's Role and config/trust's. */
async function verifierOn(now: () => number = () => clock.now()): Promise<{ v: RunningVerifier; logs: LogCapture }> {
  const logs = new LogCapture();
  const config = parseVerifierArgs(
    [
      "--mode", "proxy", "--listen", "127.0.0.1:0", "--upstream", upstream.url, "--metrics-listen", "off", "--tenant", ns.name,
      "--bundle-configmap", `${ns.name}/keyward-bundle`, "--bundle-trust-configmap", `${systemNs}/keyward-bundle-trust`,
      "--max-signature-age", MAX_SIGNATURE_AGE, "--decision-log-sample", "1", "--drain-timeout", "1s",
    ],
    {},
  );
  const v = await startVerifier(config, { kubeConfig: verifierKc, logDestination: logs, now });
  verifiers.push(v);
  return { v, logs };
}

function request(v: RunningVerifier, token: string): Promise<Reply> {
  return send(v.address.port, { path: PATH, headers: bearer(token) });
}

const codeOf = (r: Reply): string | undefined => (r.status === 200 ? undefined : (JSON.parse(r.body) as { code?: string }).code);

async function bundleCm(): Promise<ConfigMapLike> {
  return kube.get<ConfigMapLike>({ apiVersion: "v1", kind: "ConfigMap", namespace: ns.name, name: "keyward-bundle" });
}

/** The edit user replaces the tenant's bundle ConfigMap data. */
async function editAsTenant(data: Record<string, string>): Promise<number> {
  const cm = await bundleCm();
  const r = await kubeRequest(editorKc, { method: "PUT", path: `/api/v1/namespaces/${ns.name}/configmaps/keyward-bundle`, body: { ...cm, data } });
  return r.status;
}

async function reloadFailures(v: RunningVerifier, reason: string): Promise<number> {
  const m = await v.metrics.reloadFailures.get();
  return m.values.find((x) => x.labels.reason === reason)?.value ?? 0;
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  systemNs = await systemNamespaceFor(ns.name);
  await grantTrustRead(kube, systemNs);
  // The verifier's own identity, with config/verifier's Role in the tenant namespace.
  const role = manifest("config/verifier/role.yaml");
  const binding = manifest("config/verifier/role_binding.yaml");
  await kube.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "keyward-verifier", namespace: ns.name } });
  await kube.create({ ...role, metadata: { ...role.metadata, namespace: ns.name } });
  await kube.create({ ...binding, metadata: { ...binding.metadata, namespace: ns.name }, subjects: [{ kind: "ServiceAccount", name: "keyward-verifier", namespace: ns.name }] });
  verifierKc = await serviceAccountKubeConfig(kube, ns.name, "keyward-verifier", { expirationSeconds: 3600 });
  await untilAllowed(kube, "the trust Role to take effect", serviceAccountUser(ns.name, "keyward-verifier"), { verb: "watch", resource: "configmaps", name: "keyward-bundle-trust", namespace: systemNs }, serviceAccountGroups(ns.name));
  // A tenant user: a ServiceAccount bound to the built-in ClusterRole edit in the tenant namespace.
  await kube.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "editor", namespace: ns.name } });
  await kube.create({
    apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "editor-edit", namespace: ns.name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
    subjects: [{ kind: "ServiceAccount", name: "editor", namespace: ns.name }],
  });
  editorKc = await serviceAccountKubeConfig(kube, ns.name, "editor", { expirationSeconds: 3600 });
  await untilAllowed(kube, "edit to take effect", serviceAccountUser(ns.name, "editor"), { verb: "update", resource: "configmaps", name: "keyward-bundle", namespace: ns.name }, serviceAccountGroups(ns.name));

  await kube.create(keywardObject("AccessPolicy", ns.name, "reports-read", { rules: [{ methods: ["GET"], paths: ["/api/v0/**"] }] }));
  await startCtl();
  await kube.create(keywardObject("ApiKey", ns.name, API_KEY, { policies: ["reports-read"] }));
  await apiKeyWhen(kube, ns.name, API_KEY, (k) => isTrue(condition(k, "Ready")) && isTrue(condition(k, "Published")), "Ready and Published");
  for (const name of ["deleted", "kept"]) {
    await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", metadata: { name, namespace: ns.name }, spec: { apiKeyName: API_KEY, lifetime: "2h" } });
    await accessTokenWhen(kube, ns.name, name, (t) => isTrue(condition(t, "Ready")), "Ready");
    tokens.set(name, await currentToken(kube, ns.name, name));
  }
  // Deleted: its revocation lives on in the bundle (and the controller's record) only.
  await kube.delete({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", namespace: ns.name, name: "deleted" });
  await eventually("the deleted AccessToken to be gone", async () => (await kube.find({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", namespace: ns.name, name: "deleted" })) === undefined, { timeoutMs: DEADLINE_MS });
  upstream = await startUpstream();
}, 120_000);

afterAll(async () => {
  for (const v of verifiers) await v.drain(100);
  await upstream.close();
  await stopCtl();
});

describe("the tenant bundle's trust boundary", () => {
  it("keeps the trust ConfigMap out of reach of a user with edit in the tenant namespace", async () => {
    const editor = serviceAccountUser(ns.name, "editor");
    const groups = serviceAccountGroups(ns.name);
    expect(await canI(kube, editor, { verb: "update", resource: "configmaps", name: "keyward-bundle", namespace: ns.name }, groups)).toBe(true);
    for (const verb of ["update", "patch", "delete", "create"]) {
      expect(await canI(kube, editor, { verb, resource: "configmaps", name: "keyward-bundle-trust", namespace: systemNs }, groups), verb).toBe(false);
    }
    const r = await kubeRequest(editorKc, {
      method: "PUT", path: `/api/v1/namespaces/${systemNs}/configmaps/keyward-bundle-trust`,
      body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle-trust", namespace: systemNs }, data: { "jwks.json": '{"keys":[]}' } },
    });
    expect(r.status).toBe(403);
    expect(await canI(kube, editor, { verb: "get", resource: "secrets", name: "keyward-bundle-signing-keys", namespace: systemNs }, groups)).toBe(false);
  });

  it("refuses a bundle edited by a tenant user (key added, revocation removed, generation 2^53-1), running or freshly started, and the controller restores it without losing a revocation", async () => {
    const { v: running } = await verifierOn();
    await eventually("the running verifier to load the signed bundle", () => Promise.resolve(running.store.generation() !== null), { timeoutMs: DEADLINE_MS });
    expect(codeOf(await request(running, tokens.get("deleted")!))).toBe("ERR_TOKEN_REVOKED");
    const before = parseBundle((await bundleCm()).data!["bundle.json"]!);
    expect(before.revoked.map((r) => r.jti)).toHaveLength(1);

    // The controller is down: nothing repairs the edit while the verifiers look at it.
    await stopCtl();
    const attackerKey = await generateSigningKey("EdDSA");
    const forged = { ...before, generation: Number.MAX_SAFE_INTEGER, revoked: [], keys: [...before.keys, { ...publicJwkOf(attackerKey), apiKey: API_KEY, state: "active" as const, notAfter: null }] };
    const cm = await bundleCm();
    expect(await editAsTenant({ ...cm.data, "bundle.json": serializeBundle(forged) })).toBe(200);
    const attackerToken = (await issueAccessToken({ key: attackerKey, issuer: ISSUER, apiKey: API_KEY, tenant: ns.name, now: new Date(clock.now() - 1000), lifetimeSeconds: 600 })).token;

    await eventually("the running verifier to refuse the edited bundle", async () => (await reloadFailures(running, "ERR_BUNDLE_SIGNATURE")) > 0, { timeoutMs: DEADLINE_MS });
    expect(running.store.generation()).toBe(before.generation);
    expect(codeOf(await request(running, tokens.get("deleted")!))).toBe("ERR_TOKEN_REVOKED");
    expect((await request(running, attackerToken)).status).toBe(401);

    const { v: fresh } = await verifierOn();
    await eventually("the fresh verifier to refuse the edited bundle", async () => (await reloadFailures(fresh, "ERR_BUNDLE_SIGNATURE")) > 0, { timeoutMs: DEADLINE_MS });
    expect(fresh.store.generation()).toBeNull();
    expect((await request(fresh, attackerToken)).status).toBe(503);

    // Unsigned altogether: refused too, and its generation is no floor.
    expect(await editAsTenant({ "bundle.json": serializeBundle(forged), "jwks.json": cm.data!["jwks.json"]! })).toBe(200);
    await eventually("the unsigned bundle to be refused", async () => (await reloadFailures(fresh, "ERR_BUNDLE_UNSIGNED")) > 0, { timeoutMs: DEADLINE_MS });

    await startCtl();
    await eventSeen(kube, ns.name, "keyward-bundle", "BundleReplaced");
    await eventually("the fresh verifier to load the restored bundle", () => Promise.resolve(fresh.store.generation() !== null), { timeoutMs: DEADLINE_MS });
    const restored = parseBundle((await bundleCm()).data!["bundle.json"]!);
    expect(restored.generation).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(restored.revoked).toEqual(before.revoked);
    expect(restored.keys.map((k) => k.kid)).not.toContain(attackerKey.kid);
    for (const v of [running, fresh]) {
      expect(v.store.generation()).toBe(restored.generation);
      expect(codeOf(await request(v, tokens.get("deleted")!))).toBe("ERR_TOKEN_REVOKED");
      expect((await request(v, attackerToken)).status).toBe(401);
      expect((await request(v, tokens.get("kept")!)).status).toBe(200);
    }
  }, 90_000);

  it("refuses a rolled-back, validly signed bundle: a lower generation while running, and after a restart once older than --max-signature-age", async () => {
    if (ctl === null) await startCtl();
    const old = (await bundleCm()).data!;
    const oldGeneration = parseBundle(old["bundle.json"]!).generation;
    // A change: a new generation.
    await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", metadata: { name: "revoked-later", namespace: ns.name }, spec: { apiKeyName: API_KEY, lifetime: "2h" } });
    await accessTokenWhen(kube, ns.name, "revoked-later", (t) => isTrue(condition(t, "Ready")), "Ready");
    await kube.mergePatch({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", namespace: ns.name, name: "revoked-later" }, { spec: { revoked: true } });
    await eventually("a new generation", async () => parseBundle((await bundleCm()).data!["bundle.json"]!).generation > oldGeneration, { timeoutMs: DEADLINE_MS });
    const { v: running } = await verifierOn();
    await eventually("the verifier to load the new generation", () => Promise.resolve((running.store.generation() ?? 0) > oldGeneration), { timeoutMs: DEADLINE_MS });
    const current = running.store.generation();

    await stopCtl();
    expect(await editAsTenant({ ...old })).toBe(200);
    await eventually("the running verifier to refuse the older generation", async () => (await reloadFailures(running, "ERR_BUNDLE_GENERATION_REGRESSION")) > 0, { timeoutMs: DEADLINE_MS });
    expect(running.store.generation()).toBe(current);

    // A verifier started 7 days and a second after the old bundle was signed does not take it.
    const signedAt = readSignatureHeader(old["bundle.jws"]!)!.signedAtMs;
    const { v: late } = await verifierOn(() => signedAt + 168 * HOUR + 1000);
    await eventually("the restarted verifier to refuse the expired signature", async () => (await reloadFailures(late, "ERR_BUNDLE_SIGNATURE_EXPIRED")) > 0, { timeoutMs: DEADLINE_MS });
    expect(late.store.generation()).toBeNull();
    await startCtl();
    await eventually("the controller to restore the newer bundle", async () => parseBundle((await bundleCm()).data!["bundle.json"]!).generation === current, { timeoutMs: DEADLINE_MS });
  }, 90_000);

  it("rotates the bundle-signing key with overlap: published first, signing after the overlap, every bundle re-signed, then the old key withdrawn", async () => {
    if (ctl === null) await startCtl();
    const { v } = await verifierOn();
    await eventually("the verifier to load a bundle", () => Promise.resolve(v.store.generation() !== null), { timeoutMs: DEADLINE_MS });
    const trust = async (): Promise<string[]> =>
      (JSON.parse((await kube.get<ConfigMapLike>({ apiVersion: "v1", kind: "ConfigMap", namespace: systemNs, name: "keyward-bundle-trust" })).data!["jwks.json"]!) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const kidOfBundle = async (): Promise<string | undefined> => readSignatureHeader((await bundleCm()).data!["bundle.jws"] ?? "")?.kid;
    const first = await kidOfBundle();
    expect(await trust()).toEqual([first]);

    clock.advance(24 * HOUR + 1000);
    const both = await eventually("a successor to be published", async () => {
      const kids = await trust();
      return kids.length === 2 ? kids : undefined;
    }, { timeoutMs: DEADLINE_MS });
    const next = both.find((k) => k !== first)!;
    // Within the overlap: still signed with the first key.
    expect(await kidOfBundle()).toBe(first);

    clock.advance(11_000);
    await eventually("the bundle to be re-signed with the successor", async () => (await kidOfBundle()) === next, { timeoutMs: DEADLINE_MS });
    await eventually("the verifier to take the new signature", () => Promise.resolve(v.store.signature()?.kid === next), { timeoutMs: DEADLINE_MS });
    clock.advance(11_000);
    await eventually("the first key to be withdrawn", async () => (await trust()).join() === next, { timeoutMs: DEADLINE_MS });
    await settled(ctl!.running);
    expect(v.store.state().kind).toBe("ready");
    expect(v.store.generation()).toBe(parseBundle((await bundleCm()).data!["bundle.json"]!).generation);
  }, 90_000);
});
