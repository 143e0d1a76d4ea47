// Controller shards (--shard-selector): two controllers on one API server, each
// owning the namespaces its label selector matches, reconcile only their own; a
// namespace relabelled moves from one to the other, and an AccessToken deleted
// during the move is still revoked.

import { randomBytes } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNamespace, eventually, keywardObject, Kube, useNamespace } from "../harness/index.ts";
import {
  accessTokenRef,
  accessTokenWhen,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  getAccessToken,
  isTrue,
  readBundle,
  runController,
  settled,
  verify,
  type TestController,
} from "./support.ts";

const kube = Kube.fromTestRun();
const home = useNamespace(kube, "ctl-shards-home");
const LABEL = `shard-${randomBytes(3).toString("hex")}.keyward.dev/shard`;
let identity: KubeConfig;
const shards: Record<"a" | "b", TestController | null> = { a: null, b: null };
const tenants: Record<"one" | "two" | "probe", string> = { one: "", two: "", probe: "" };

async function startShard(name: "a" | "b"): Promise<TestController> {
  const ctl = await runController(identity, home.name, { namespaces: [], shardSelector: `${LABEL}=${name}` });
  shards[name] = ctl;
  return ctl;
}

async function stopShard(name: "a" | "b"): Promise<void> {
  await shards[name]?.running.stop();
  shards[name] = null;
}

async function label(namespace: string, shard: "a" | "b"): Promise<void> {
  await kube.mergePatch({ apiVersion: "v1", kind: "Namespace", name: namespace }, { metadata: { labels: { [LABEL]: shard } } });
}

async function tenant(shard: "a" | "b"): Promise<string> {
  const namespace = await createNamespace(kube, "ctl-shard");
  await label(namespace, shard);
  await kube.create(keywardObject("AccessPolicy", namespace, "reads", { rules: [{ methods: ["GET"], paths: ["/**"] }] }));
  await kube.create(keywardObject("ApiKey", namespace, "payments", { policies: ["reads"] }));
  return namespace;
}

function token(namespace: string, name: string): Promise<unknown> {
  return kube.create(keywardObject("AccessToken", namespace, name, { apiKeyName: "payments", lifetime: "1h" }));
}

const ready = (namespace: string, name: string): Promise<unknown> => accessTokenWhen(kube, namespace, name, (t) => isTrue(condition(t, "Ready")), "Ready");

beforeAll(async () => {
  identity = await controllerIdentity(kube, home.name);
  tenants.one = await tenant("a");
  tenants.two = await tenant("b");
  tenants.probe = await tenant("a");
  await startShard("a");
  await startShard("b");
  for (const ns of Object.values(tenants)) await apiKeyWhen(kube, ns, "payments", (k) => isTrue(condition(k, "Published")), "Published");
});

afterAll(async () => {
  await stopShard("a");
  await stopShard("b");
  for (const ns of Object.values(tenants)) if (ns !== "") await kube.delete({ apiVersion: "v1", kind: "Namespace", name: ns }).catch(() => undefined);
});

describe("controller shards", () => {
  it("each reconcile only the namespaces their selector owns", async () => {
    await stopShard("b");
    // Shard b's AccessToken first: shard a sees its events before its own one's, if it sees them at all.
    await token(tenants.two, "of-b");
    await token(tenants.one, "of-a");
    await ready(tenants.one, "of-a");
    await settled(shards.a!.running);
    expect((await getAccessToken(kube, tenants.two, "of-b")).status).toBeUndefined();

    await startShard("b");
    await ready(tenants.two, "of-b");
  });

  it("hand a relabelled namespace over, and an AccessToken deleted during the move is still revoked", async () => {
    await token(tenants.one, "moving");
    const moving = await accessTokenWhen(kube, tenants.one, "moving", (t) => isTrue(condition(t, "Ready")), "Ready");
    const jwt = await currentToken(kube, tenants.one, "moving");

    await label(tenants.one, "b");
    await kube.delete(accessTokenRef(tenants.one, "moving"));
    await eventually("the token Secret gone", async () => (await kube.find({ apiVersion: "v1", kind: "Secret", namespace: tenants.one, name: "moving" })) === undefined, { timeoutMs: 30_000 });
    await eventually("the bundle listing the deleted token", async () => (await readBundle(kube, tenants.one))?.revoked.some((r) => r.jti === moving.status?.jti) === true);
    const bundle = await readBundle(kube, tenants.one);
    const result = verify(jwt, bundle!, Date.now());
    expect(result.ok ? "ok" : result.error.code).toBe("ERR_TOKEN_REVOKED");

    // Shard a no longer acts on the namespace; shard b does.
    await stopShard("b");
    await token(tenants.one, "after-move");
    await token(tenants.probe, "probe");
    await ready(tenants.probe, "probe");
    await settled(shards.a!.running);
    expect((await getAccessToken(kube, tenants.one, "after-move")).status).toBeUndefined();
    await startShard("b");
    await ready(tenants.one, "after-move");
  });
});
