import { beforeAll, describe, expect, it } from "vitest";
import { signingKeySecretName } from "../../../src/model/signing-key/location.ts";
import type { ApiKey, RotationPolicySpec } from "../../../src/api/types.generated.ts";
import { planApiKey, type ApiKeyOutcome, type PlanApiKeyInput } from "../../../src/controller/apikey/reconcile.ts";
import { signingKeySecret, type SecretObject } from "../../../src/model/signing-key/secret.ts";
import { H, KeyPool, M, T0, at } from "./fixtures.ts";

let keys: KeyPool;
beforeAll(async () => {
  keys = await KeyPool.create(8);
});

const UID = "0b6f3c1e-2222-4d7e-8f00-000000000002";

function apiKey(spec: ApiKey["spec"] = {}, status?: ApiKey["status"]): ApiKey {
  return {
    apiVersion: "keyward.dev/v1alpha1",
    kind: "ApiKey",
    metadata: { name: "reporting", namespace: "acme", uid: UID, generation: 3 },
    spec,
    ...(status === undefined ? {} : { status }),
  };
}

function input(over: Partial<PlanApiKeyInput> = {}): PlanApiKeyInput {
  return {
    now: T0,
    apiKey: apiKey(),
    systemNamespace: "keyward-system",
    secret: null,
    getRotationPolicy: () => undefined,
    getClusterRotationPolicy: () => undefined,
    mintKey: keys.restart().mint,
    ...over,
  };
}

function condition(outcome: ApiKeyOutcome, type: string): { status: string; reason: string; message: string } | undefined {
  const c = outcome.status.conditions?.find((x) => x.type === type);
  return c === undefined ? undefined : { status: c.status, reason: c.reason, message: c.message };
}

/** What the next reconcile sees after the caller wrote the outcome. */
function written(before: PlanApiKeyInput, outcome: ApiKeyOutcome): Pick<PlanApiKeyInput, "apiKey" | "secret"> {
  return { apiKey: { ...before.apiKey, status: outcome.status }, secret: outcome.secret ?? before.secret };
}

describe("planApiKey", () => {
  it("mints the first key under the built-in policy and reports the ApiKey ready", async () => {
    const outcome = await planApiKey(input());
    expect(outcome.secret?.type).toBe("keyward.dev/signing-key");
    expect(outcome.status).toMatchObject({ observedGeneration: 3, secretName: signingKeySecretName("acme", "reporting"), lastRotationTime: "2026-01-01T00:00:00Z" });
    expect(condition(outcome, "Ready")).toMatchObject({ status: "True", reason: "KeysReady" });
    expect(condition(outcome, "RotationPolicyResolved")).toMatchObject({ status: "True", reason: "BuiltInPolicy" });
    expect(condition(outcome, "Rotating")).toMatchObject({ status: "False", reason: "RotationComplete" });
    expect(outcome.status.conditions?.every((c) => c.observedGeneration === 3 && c.lastTransitionTime === "2026-01-01T00:00:00Z")).toBe(true);
    expect(outcome.requeueAt).toEqual(at(720 * H));
  });

  it("uses the ClusterRotationPolicy named default when it exists", async () => {
    const weekly: RotationPolicySpec = { schedule: { every: "168h" } };
    const outcome = await planApiKey(input({ getClusterRotationPolicy: (name) => (name === "default" ? weekly : undefined) }));
    expect(condition(outcome, "RotationPolicyResolved")).toEqual({
      status: "True",
      reason: "RotationPolicyFound",
      message: "ClusterRotationPolicy default is in use",
    });
    expect(outcome.requeueAt).toEqual(at(168 * H));
  });

  it("keeps the keys as they are while the named rotation policy is missing", async () => {
    const first = input();
    const before = await planApiKey(first);
    const next = input({
      ...written(first, before),
      apiKey: { ...apiKey({ rotationPolicyRef: { kind: "RotationPolicy", name: "weekly" } }), status: before.status },
      now: at(800 * H),
    });
    const outcome = await planApiKey(next);
    expect(outcome.secret).toBeNull();
    expect(outcome.status.keys).toEqual(before.status.keys);
    expect(condition(outcome, "Ready")).toMatchObject({ status: "False", reason: "RotationPolicyNotFound" });
    expect(condition(outcome, "RotationPolicyResolved")?.message).toContain('RotationPolicy "weekly", which does not exist in namespace acme');
    expect(outcome.events.map((e) => [e.type, e.reason])).toEqual([["Warning", "RotationPolicyNotFound"]]);
    expect(outcome.requeueAt).toBeNull();
  });

  it("reports an invalid policy without touching the keys", async () => {
    const outcome = await planApiKey(input({ getClusterRotationPolicy: () => ({ schedule: { every: "30m" } }) }));
    expect(outcome.secret).toBeNull();
    expect(condition(outcome, "Ready")).toMatchObject({ status: "False", reason: "RotationPolicyInvalid" });
  });

  it("never overwrites a Secret it does not own", async () => {
    const foreign: SecretObject = { metadata: { name: signingKeySecretName("acme", "reporting"), namespace: "keyward-system" }, type: "Opaque", data: { "keys.json": "e30=" } };
    const outcome = await planApiKey(input({ secret: foreign }));
    expect(outcome.secret).toBeNull();
    expect(condition(outcome, "Ready")).toMatchObject({ status: "False", reason: "SigningKeySecretConflict" });
    expect(outcome.events[0]?.type).toBe("Warning");
  });

  it("never overwrites its own Secret when it cannot read it", async () => {
    const broken = signingKeySecret("keyward-system", { namespace: "acme", name: "reporting", uid: UID }, {
      version: 1, keys: [], lastRotationTime: "2026-01-01T00:00:00Z", observedRequests: {}, revokedBefore: null,
    });
    const outcome = await planApiKey(input({ secret: broken }));
    expect(outcome.secret).toBeNull();
    expect(condition(outcome, "Ready")).toMatchObject({ status: "False", reason: "SigningKeySecretInvalid" });
    expect(condition(outcome, "Ready")?.message).toContain("keys.json keys: must hold 1 to 3 keys, holds 0");
  });

  it("reports a failed key generation and asks to back off and retry", async () => {
    const outcome = await planApiKey(input({ mintKey: () => Promise.reject(new Error("entropy source unavailable")) }));
    expect(outcome.secret).toBeNull();
    expect(condition(outcome, "Ready")).toMatchObject({ status: "False", reason: "KeyGenerationFailed" });
    expect(condition(outcome, "Ready")?.message).toContain("entropy source unavailable");
    expect(outcome.retry).toContain("entropy source unavailable");
    expect(outcome.requeueAt).toBeNull();
  });

  it("asks for no retry when it converged", async () => {
    const outcome = await planApiKey(input());
    expect(outcome.retry).toBeNull();
  });

  it("reports a suspended ApiKey as not ready while its keys keep rotating", async () => {
    const first = input({ apiKey: apiKey({ suspended: true }) });
    const created = await planApiKey(first);
    expect(condition(created, "Ready")).toMatchObject({ status: "False", reason: "Suspended" });
    const rotated = await planApiKey({ ...first, ...written(first, created), now: at(720 * H) });
    expect(rotated.secret).not.toBeNull();
    expect(condition(rotated, "Rotating")).toMatchObject({ status: "True", reason: "KeyPrepublished" });
  });

  it("reports a revokeIssuedBefore it cannot apply once, not on every resync", async () => {
    const first = input();
    const created = await planApiKey(first);
    const bad = { ...first, ...written(first, created), now: at(H) };
    bad.apiKey = { ...bad.apiKey, spec: { revokeIssuedBefore: "2026-13-01T00:00:00Z" } };
    const once = await planApiKey(bad);
    expect(condition(once, "Ready")).toMatchObject({ status: "False", reason: "InvalidRequest" });
    expect(condition(once, "Ready")?.message).toContain("spec.revokeIssuedBefore");
    expect(once.events.map((e) => e.reason)).toEqual(["InvalidRequest"]);
    const again = await planApiKey({ ...bad, apiKey: { ...bad.apiKey, status: once.status }, now: at(2 * H) });
    expect(again.events).toEqual([]);
  });

  it("keeps lastTransitionTime while a condition's status holds, and the conditions it does not own", async () => {
    const first = input();
    const created = await planApiKey(first);
    const published = {
      type: "Published", status: "True" as const, reason: "Published", message: "in bundle generation 4", lastTransitionTime: "2026-01-01T00:00:01Z",
    };
    const status = { ...created.status, conditions: [...(created.status.conditions ?? []), published] };
    const rotating = await planApiKey({ ...first, ...written(first, created), apiKey: { ...first.apiKey, status }, now: at(720 * H) });
    const ready = rotating.status.conditions?.find((c) => c.type === "Ready");
    expect(ready?.lastTransitionTime).toBe("2026-01-01T00:00:00Z");
    expect(rotating.status.conditions?.find((c) => c.type === "Rotating")?.lastTransitionTime).toBe("2026-01-31T00:00:00Z");
    expect(rotating.status.conditions).toContainEqual(published);
    expect(rotating.requeueAt).toEqual(at(720 * H + 5 * M));
  });

  it("writes nothing when a resync finds nothing to do", async () => {
    const first = input();
    const created = await planApiKey(first);
    const resync = await planApiKey({ ...first, ...written(first, created), now: at(H) });
    expect(resync.secret).toBeNull();
    expect(resync.events).toEqual([]);
    expect(resync.status).toEqual(created.status);
  });

  it("leaves an ApiKey being deleted alone", async () => {
    const deleting = apiKey();
    deleting.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    const outcome = await planApiKey(input({ apiKey: deleting }));
    expect(outcome).toMatchObject({ secret: null, events: [], requeueAt: null, plan: null });
  });
});
