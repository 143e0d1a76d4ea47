// Deleting AccessTokens with the record in the token Secret: a new AccessToken
// costs two writes (its status and its Secret, created with the finalizer and
// the record) and a resync none; an AccessToken deleted while the controller is
// stopped is revoked once it returns; a token Secret deleted by hand gets a new
// token without revoking the old one; an AccessToken carrying the finalizer of
// before hands it over to its Secret.

import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessToken } from "../../../src/api/index.ts";
import type { WriteVerb } from "../../../src/kube/writes.ts";
import { eventually, keywardObject, Kube, useNamespace } from "../harness/index.ts";
import {
  accessTokenRef,
  accessTokenWhen,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  getAccessToken,
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
const ns = useNamespace(kube, "ctl-deletion");
const clock = new OffsetClock();
const FINALIZER = "keyward.dev/revocation";
let identity: KubeConfig;
let ctl: TestController;

const secretRef = (name: string): { apiVersion: string; kind: string; namespace: string; name: string } => ({ apiVersion: "v1", kind: "Secret", namespace: ns.name, name });
const notLease = (_verb: WriteVerb, resource: string): boolean => resource !== "leases.coordination.k8s.io";

async function newToken(name: string): Promise<AccessToken> {
  await kube.create(keywardObject("AccessToken", ns.name, name, { apiKeyName: "payments", lifetime: "2h" }));
  return accessTokenWhen(kube, ns.name, name, (t) => isTrue(condition(t, "Ready")), "Ready");
}

async function verdict(token: string): Promise<string> {
  await settled(ctl.running);
  const bundle = await readBundle(kube, ns.name);
  if (bundle === undefined) throw new Error("no bundle");
  const r = verify(token, bundle, clock.now());
  return r.ok ? "ok" : r.error.code;
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  await kube.create(keywardObject("AccessPolicy", ns.name, "all-reads", { rules: [{ methods: ["GET"], paths: ["/**"] }] }));
  ctl = await runController(identity, ns.name, { clock });
  await kube.create(keywardObject("ApiKey", ns.name, "payments", { policies: ["all-reads"] }));
  await apiKeyWhen(kube, ns.name, "payments", (k) => isTrue(condition(k, "Ready")) && isTrue(condition(k, "Published")), "Ready");
  await settled(ctl.running);
});

afterAll(async () => {
  await ctl.running.stop();
});

describe("an AccessToken", () => {
  it("costs two writes when created (its status, then its token Secret with the finalizer) and none on a resync", async () => {
    const writes = ctl.running.writes;
    const before = writes.count(notLease);
    const names = ["w-1", "w-2", "w-3", "w-4"];
    for (const name of names) await kube.create(keywardObject("AccessToken", ns.name, name, { apiKeyName: "payments", lifetime: "2h" }));
    for (const name of names) await accessTokenWhen(kube, ns.name, name, (t) => isTrue(condition(t, "Ready")), "Ready");
    await settled(ctl.running);
    const spent = writes.snapshot().filter((w) => notLease(w.verb, w.resource));
    expect(writes.count(notLease) - before).toBe(2 * names.length);
    expect(spent.find((w) => w.verb === "patch" && w.resource === "accesstokens.keyward.dev")).toBeUndefined();
    for (const name of names) {
      const secret = await kube.get<SecretLike>(secretRef(name));
      expect(secret.metadata.finalizers).toEqual([FINALIZER]);
      expect((await getAccessToken(kube, ns.name, name)).metadata.finalizers ?? []).toEqual([]);
    }
    const atRest = writes.count(notLease);
    ctl.running.resync();
    await settled(ctl.running);
    expect(writes.count(notLease)).toBe(atRest);
  });

  it("deleted while the controller is stopped is still revoked once the controller returns", async () => {
    const at = await newToken("while-down");
    const token = await currentToken(kube, ns.name, "while-down");
    expect(await verdict(token)).toBe("ok");
    await ctl.running.stop();

    await kube.delete(accessTokenRef(ns.name, "while-down"));
    // Nothing holds the AccessToken; the garbage collector deletes its Secret, which waits on the finalizer.
    await eventually("the AccessToken gone and its Secret waiting on the finalizer", async () => {
      const gone = (await kube.find(accessTokenRef(ns.name, "while-down"))) === undefined;
      const secret = await kube.find<SecretLike>(secretRef("while-down"));
      return gone && secret?.metadata.deletionTimestamp !== undefined;
    }, { timeoutMs: 30_000 });

    ctl = await runController(identity, ns.name, { clock });
    await eventually("the token Secret gone", async () => (await kube.find(secretRef("while-down"))) === undefined);
    const bundle = await readBundle(kube, ns.name);
    expect(bundle?.revoked.map((r) => r.jti)).toContain(at.status?.jti);
    expect(await verdict(token)).toBe("ERR_TOKEN_REVOKED");
  });

  it("whose token Secret is deleted by hand gets a new token; the old one is not revoked and no finalizer is left behind", async () => {
    const at = await newToken("hand-deleted");
    const old = await currentToken(kube, ns.name, "hand-deleted");
    await kube.delete(secretRef("hand-deleted"));
    const renewed = await accessTokenWhen(kube, ns.name, "hand-deleted", (t) => t.status?.jti !== at.status?.jti && isTrue(condition(t, "Ready")), "a new token");
    await eventually("its AccessToken without the finalizer again", async () => ((await getAccessToken(kube, ns.name, "hand-deleted")).metadata.finalizers ?? []).length === 0);
    const secret = await kube.get<SecretLike>(secretRef("hand-deleted"));
    expect(secret.metadata.deletionTimestamp).toBeUndefined();
    expect(secret.metadata.finalizers).toEqual([FINALIZER]);
    expect(JSON.parse(secret.metadata.annotations?.["keyward.dev/issued"] ?? "[]")).toEqual(renewed.status?.issued);
    expect(renewed.status?.issued?.map((e) => e.jti)).toEqual([at.status?.jti, renewed.status?.jti]);
    expect(await verdict(old)).toBe("ok");

    // Deleted now, both tokens go on the revocation list.
    await kube.delete(accessTokenRef(ns.name, "hand-deleted"));
    await eventually("the token Secret gone", async () => (await kube.find(secretRef("hand-deleted"))) === undefined);
    expect(await verdict(old)).toBe("ERR_TOKEN_REVOKED");
    const bundle = await readBundle(kube, ns.name);
    expect(bundle?.revoked.map((r) => r.jti)).toEqual(expect.arrayContaining([at.status?.jti, renewed.status?.jti]));
  });

  it("that carries the finalizer of before hands it to its Secret, and is revoked when deleted", async () => {
    const at = await newToken("migrated");
    const token = await currentToken(kube, ns.name, "migrated");
    await ctl.running.stop();
    // As an earlier keyward left it: the finalizer on the AccessToken, a Secret without record or finalizer.
    await kube.mergePatch(accessTokenRef(ns.name, "migrated"), { metadata: { finalizers: [FINALIZER] } });
    await kube.mergePatch(secretRef("migrated"), { metadata: { finalizers: null, annotations: { "keyward.dev/issued": null } } });
    ctl = await runController(identity, ns.name, { clock });
    await eventually("the AccessToken's finalizer gone", async () => ((await getAccessToken(kube, ns.name, "migrated")).metadata.finalizers ?? []).length === 0);
    const secret = await kube.get<SecretLike>(secretRef("migrated"));
    expect(secret.metadata.finalizers).toEqual([FINALIZER]);
    expect(JSON.parse(secret.metadata.annotations?.["keyward.dev/issued"] ?? "[]")).toEqual(at.status?.issued);
    expect(await currentToken(kube, ns.name, "migrated")).toBe(token);

    await kube.delete(accessTokenRef(ns.name, "migrated"));
    await eventually("the token Secret gone", async () => (await kube.find(secretRef("migrated"))) === undefined);
    expect(await verdict(token)).toBe("ERR_TOKEN_REVOKED");
  });
});
