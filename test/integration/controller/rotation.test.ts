// Acceptance 3 and 4: scheduled rotation (an interval, and cron in a time zone)
// and requested rotation (spec.rotate), step by step on a clock the test moves
// forward; AccessTokens follow the new key, tokens of the deposed key verify
// until its notAfter; restarts neither miss nor repeat a rotation.

import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKey } from "../../../src/api/index.ts";
import { keywardObject, Kube, useNamespace } from "../harness/index.ts";
import {
  accessTokenWhen,
  apiKeyRef,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  decode,
  eventSeen,
  eventsOf,
  getApiKey,
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
const ns = useNamespace(kube, "ctl-rotation");
const clock = new OffsetClock();
let identity: KubeConfig;
let ctl: TestController;

const HOUR = 3_600_000;
const MINUTE = 60_000;

async function restart(): Promise<void> {
  await ctl.running.stop();
  ctl = await runController(identity, ns.name, { clock });
}

async function keysOf(name: string): Promise<{ kid: string; state: string; notAfter: string | null; activatesAt: string }[]> {
  const secret = await kube.get<SecretLike>(keySecretRef(ns.name, name));
  const doc = JSON.parse(decode(secret, "keys.json")) as { keys: { jwk: { kid: string }; state: string; notAfter: string | null; activatesAt: string }[] };
  return doc.keys.map((k) => ({ kid: k.jwk.kid, state: k.state, notAfter: k.notAfter, activatesAt: k.activatesAt }));
}

function kidIn(k: ApiKey, state: string): string | undefined {
  return k.status?.keys?.find((x) => x.state === state)?.kid;
}

async function tokenOf(name: string): Promise<string> {
  return currentToken(kube, ns.name, name);
}

async function verifies(token: string, at: number): Promise<string> {
  const bundle = await readBundle(kube, ns.name);
  if (bundle === undefined) return "no bundle";
  const r = verify(token, bundle, at);
  return r.ok ? "ok" : r.error.code;
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  await kube.create(keywardObject("AccessPolicy", ns.name, "reports", { rules: [{ methods: ["GET"], paths: ["/api/v0/reports"] }] }));
  await kube.create(keywardObject("RotationPolicy", ns.name, "hourly", { schedule: { every: "1h" }, prePublish: "5m", grace: "2h", defaultTokenLifetime: "3h", maxTokenLifetime: "24h" }));
  await kube.create(keywardObject("RotationPolicy", ns.name, "berlin-nightly", { schedule: { cron: "0 3 * * *", timeZone: "Europe/Berlin" }, prePublish: "10m", grace: "24h" }));
  ctl = await runController(identity, ns.name, { clock });
});

afterAll(async () => {
  await ctl.running.stop();
});

describe("scheduled rotation on an interval", () => {
  it("publishes a prepared key when due, activates it after prePublish, deposes the old one for the grace window", async () => {
    await kube.create(keywardObject("ApiKey", ns.name, "hourly-key", { rotationPolicyRef: { kind: "RotationPolicy", name: "hourly" }, policies: ["reports"] }));
    await kube.create(keywardObject("AccessToken", ns.name, "hourly-token", { apiKeyName: "hourly-key" }));
    const first = await apiKeyWhen(kube, ns.name, "hourly-key", (k) => isTrue(condition(k, "Ready")), "Ready");
    const k1 = first.status?.activeKid ?? "";
    const due = Date.parse(first.status?.nextRotationTime ?? "");
    expect(due - Date.parse(first.status?.lastRotationTime ?? "")).toBe(HOUR);
    const t1 = await accessTokenWhen(kube, ns.name, "hourly-token", (t) => t.status?.kid === k1, "issued with the first key");
    const token1 = await tokenOf("hourly-token");

    // Not yet due: nothing happens.
    clock.advanceTo(due - MINUTE);
    await settled(ctl.running);
    expect((await keysOf("hourly-key")).map((k) => k.kid)).toEqual([k1]);

    // Due: a prepared key is published; the active key keeps signing.
    clock.advanceTo(due + 1000);
    const rotating = await apiKeyWhen(kube, ns.name, "hourly-key", (k) => kidIn(k, "prepared") !== undefined, "a prepared key");
    const k2 = kidIn(rotating, "prepared") ?? "";
    expect(rotating.status?.activeKid).toBe(k1);
    expect(condition(rotating, "Rotating")?.reason).toBe("KeyPrepublished");
    const activatesAt = Date.parse(rotating.status?.keys?.find((k) => k.kid === k2)?.activatesAt ?? "");
    expect(activatesAt - Date.parse(rotating.status?.lastRotationTime ?? "")).toBe(5 * MINUTE);
    await settled(ctl.running);
    expect((await readBundle(kube, ns.name))?.keys.map((k) => [k.kid, k.state])).toEqual(expect.arrayContaining([[k2, "prepared"], [k1, "active"]]));
    expect((await kube.get({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", namespace: ns.name, name: "hourly-token" })).status).toEqual(t1.status);

    // prePublish over: the new key signs, the old one is deposed until activation + grace, tokens follow.
    clock.advanceTo(activatesAt + 1000);
    const active = await apiKeyWhen(kube, ns.name, "hourly-key", (k) => k.status?.activeKid === k2, "the prepared key active");
    const deposed = active.status?.keys?.find((k) => k.kid === k1);
    expect(deposed?.state).toBe("deposed");
    expect(Date.parse(deposed?.notAfter ?? "")).toBe(activatesAt + 2 * HOUR);
    expect(condition(active, "Rotating")?.reason).toBe("RotationComplete");
    await accessTokenWhen(kube, ns.name, "hourly-token", (t) => t.status?.kid === k2, "re-issued with the new key");
    const token2 = await tokenOf("hourly-token");
    await settled(ctl.running);
    expect(await verifies(token2, clock.now())).toBe("ok");
    expect(await verifies(token1, clock.now())).toBe("ok");
    expect(await verifies(token1, activatesAt + 2 * HOUR + 1000)).toBe("ERR_KEY_EXPIRED");

    // The next rotation drops the previous deposed key.
    const next = Date.parse(active.status?.nextRotationTime ?? "");
    expect(next).toBe(Date.parse(rotating.status?.lastRotationTime ?? "") + HOUR);
    clock.advanceTo(next + 1000);
    const third = await apiKeyWhen(kube, ns.name, "hourly-key", (k) => kidIn(k, "prepared") !== undefined, "a third key prepared");
    const k3 = kidIn(third, "prepared") ?? "";
    clock.advanceTo(Date.parse(third.status?.keys?.find((k) => k.kid === k3)?.activatesAt ?? "") + 1000);
    const after = await apiKeyWhen(kube, ns.name, "hourly-key", (k) => k.status?.activeKid === k3, "the third key active");
    expect(after.status?.keys?.map((k) => [k.kid, k.state])).toEqual([[k3, "active"], [k2, "deposed"]]);
    await settled(ctl.running);
    const bundle = await readBundle(kube, ns.name);
    expect(bundle?.keys.map((k) => k.kid).sort()).toEqual([k2, k3].sort());
    expect(await verifies(token1, clock.now())).toBe("ERR_KEY_UNKNOWN");
    for (const reason of ["RotationStarted", "KeyActivated", "DeposedKeyExpired"]) await eventSeen(kube, ns.name, "hourly-key", reason);
  });

  it("neither repeats nor misses a rotation across controller restarts", async () => {
    await settled(ctl.running);
    const before = await getApiKey(kube, ns.name, "hourly-key");
    const keys = await keysOf("hourly-key");
    await restart();
    await settled(ctl.running);
    expect(await keysOf("hourly-key")).toEqual(keys);
    expect((await getApiKey(kube, ns.name, "hourly-key")).status?.nextRotationTime).toBe(before.status?.nextRotationTime);

    // Stopped across the due time: the rotation happens once when the controller is back.
    await ctl.running.stop();
    const due = Date.parse(before.status?.nextRotationTime ?? "");
    clock.advanceTo(due + 10 * MINUTE);
    ctl = await runController(identity, ns.name, { clock });
    const rotated = await apiKeyWhen(kube, ns.name, "hourly-key", (k) => k.status?.lastRotationTime !== before.status?.lastRotationTime, "rotated after the restart");
    await settled(ctl.running);
    const now = await keysOf("hourly-key");
    expect(now.filter((k) => !keys.some((o) => o.kid === k.kid))).toHaveLength(1);
    expect(now.filter((k) => k.state === "prepared")).toHaveLength(1);
    await restart();
    await settled(ctl.running);
    expect(await keysOf("hourly-key")).toEqual(now);
    expect((await getApiKey(kube, ns.name, "hourly-key")).status?.lastRotationTime).toBe(rotated.status?.lastRotationTime);
  });
});

describe("scheduled rotation on a cron schedule", () => {
  it("rotates at the cron time in the policy's time zone and schedules the next one", async () => {
    await kube.create(keywardObject("ApiKey", ns.name, "nightly-key", { rotationPolicyRef: { kind: "RotationPolicy", name: "berlin-nightly" } }));
    const first = await apiKeyWhen(kube, ns.name, "nightly-key", (k) => isTrue(condition(k, "Ready")), "Ready");
    const berlin = (ms: number): string =>
      new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Berlin", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(ms));
    const due = Date.parse(first.status?.nextRotationTime ?? "");
    expect(berlin(due)).toBe("03:00");
    expect(due - clock.now()).toBeGreaterThan(0);
    expect(due - clock.now()).toBeLessThanOrEqual(25 * HOUR);

    clock.advanceTo(due + 1000);
    const rotating = await apiKeyWhen(kube, ns.name, "nightly-key", (k) => kidIn(k, "prepared") !== undefined, "a prepared key");
    const next = Date.parse(rotating.status?.nextRotationTime ?? "");
    expect(berlin(next)).toBe("03:00");
    expect(next - due).toBeGreaterThanOrEqual(23 * HOUR);
    expect(next - due).toBeLessThanOrEqual(25 * HOUR);
    const prepared = rotating.status?.keys?.find((k) => k.state === "prepared");
    expect(Date.parse(prepared?.activatesAt ?? "") - Date.parse(rotating.status?.lastRotationTime ?? "")).toBe(10 * MINUTE);
  });
});

describe("requested rotation (spec.rotate)", () => {
  it("rotates exactly once per new value, also across restarts", async () => {
    await kube.create(keywardObject("ApiKey", ns.name, "gitops-key", { rotationPolicyRef: { kind: "RotationPolicy", name: "hourly" }, rotate: "initial" }));
    const first = await apiKeyWhen(kube, ns.name, "gitops-key", (k) => isTrue(condition(k, "Ready")), "Ready");
    // A value present at creation is recorded, not acted on: the first key is new anyway.
    expect(first.status?.observedRequests?.rotate).toBe("initial");
    expect(first.status?.keys).toHaveLength(1);

    await kube.mergePatch(apiKeyRef(ns.name, "gitops-key"), { spec: { rotate: "2026-01-15" } });
    const rotated = await apiKeyWhen(kube, ns.name, "gitops-key", (k) => k.status?.observedRequests?.rotate === "2026-01-15", "the request acted on");
    expect(rotated.status?.keys?.map((k) => k.state)).toEqual(["prepared", "active"]);
    const afterFirst = await keysOf("gitops-key");
    ctl.running.resync();
    await settled(ctl.running);
    expect(await keysOf("gitops-key")).toEqual(afterFirst);

    // Requested while the controller is down: acted on once when it is back, and never again.
    await ctl.running.stop();
    clock.advance(6 * MINUTE);
    await kube.mergePatch(apiKeyRef(ns.name, "gitops-key"), { spec: { rotate: "2026-01-16" } });
    ctl = await runController(identity, ns.name, { clock });
    const again = await apiKeyWhen(kube, ns.name, "gitops-key", (k) => k.status?.observedRequests?.rotate === "2026-01-16", "the second request acted on");
    await settled(ctl.running);
    const keys = await keysOf("gitops-key");
    expect(keys.map((k) => k.state)).toEqual(["prepared", "active", "deposed"]);
    expect(keys.filter((k) => !afterFirst.some((o) => o.kid === k.kid))).toHaveLength(1);
    await restart();
    await settled(ctl.running);
    expect(await keysOf("gitops-key")).toEqual(keys);
    expect((await getApiKey(kube, ns.name, "gitops-key")).status?.lastRotationTime).toBe(again.status?.lastRotationTime);
    const started = (await eventsOf(kube, ns.name, "gitops-key")).filter((e) => e.reason === "RotationStarted");
    expect(started.map((e) => e.count ?? 1).reduce((a, b) => a + b, 0)).toBe(2);
  });
});
