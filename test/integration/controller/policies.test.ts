// The status of the policy kinds (AccessPolicy ruleCount and Valid, rotation
// policies' Valid) and a bundle over its size limit (a condition and a metric,
// not a silent failure).

import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Condition } from "../../../src/api/index.ts";
import { eventually, keywardObject, Kube, type KubeObject, useNamespace } from "../harness/index.ts";
import { apiKeyWhen, condition, controllerIdentity, eventSeen, eventsOf, isTrue, readBundle, runController, settled, type TestController } from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "ctl-policies");
let identity: KubeConfig;
let ctl: TestController;
const clusterPolicy = `ctl-policies-${Date.now().toString(36)}`;

type WithStatus = KubeObject & { status?: { conditions?: Condition[]; ruleCount?: number; observedGeneration?: number } };

async function statusOf(kind: string, name: string, namespaced = true): Promise<WithStatus> {
  return eventually(`${kind} ${name} to have a Valid condition`, async () => {
    const obj = await kube.get<WithStatus>({ apiVersion: "keyward.dev/v1alpha1", kind, ...(namespaced ? { namespace: ns.name } : {}), name });
    return condition(obj, "Valid") === undefined ? undefined : obj;
  });
}

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  ctl = await runController(identity, ns.name, { bundleSizeLimit: 6000 });
});

afterAll(async () => {
  await ctl.running.stop();
  await kube.delete({ apiVersion: "keyward.dev/v1alpha1", kind: "ClusterRotationPolicy", name: clusterPolicy }).catch(() => undefined);
});

describe("AccessPolicy status", () => {
  it("counts the rules and says the policy is valid", async () => {
    await kube.create(keywardObject("AccessPolicy", ns.name, "good", { rules: [{ methods: ["GET"], paths: ["/a/**"] }, { effect: "Deny", methods: ["*"], paths: ["/a/admin/**"] }] }));
    const p = await statusOf("AccessPolicy", "good");
    expect(p.status?.ruleCount).toBe(2);
    expect(p.status?.observedGeneration).toBe(p.metadata.generation);
    expect(condition(p, "Valid")).toEqual(expect.objectContaining({ status: "True", reason: "RulesValid" }));
    expect(condition(p, "Ready")?.status).toBe("True");
    const table = await kube.table({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessPolicy", namespace: ns.name, name: "good" });
    expect(table.rows[0]?.cells.slice(1, 3)).toEqual([2, "True"]);
  });

  it("names the rule and the pattern the verifier would refuse, and the fix", async () => {
    await kube.create(keywardObject("AccessPolicy", ns.name, "escaped", { rules: [{ methods: ["GET"], paths: ["/ok"] }, { methods: ["GET"], paths: ["/ok", "/users/%7Ejane"] }] }));
    const p = await statusOf("AccessPolicy", "escaped");
    const valid = condition(p, "Valid");
    expect(valid?.status).toBe("False");
    expect(valid?.reason).toBe("InvalidRules");
    expect(valid?.message).toContain('spec.rules[1].paths[1] "/users/%7Ejane"');
    expect(valid?.message).toContain('write it as "~jane"');
    const event = await eventually("an InvalidRules Event", async () => (await eventsOf(kube, ns.name, "escaped")).find((e) => e.reason === "InvalidRules"));
    expect(event.type).toBe("Warning");
  });
});

describe("RotationPolicy and ClusterRotationPolicy status", () => {
  it("says a policy is valid", async () => {
    await kube.create(keywardObject("RotationPolicy", ns.name, "nightly", { schedule: { cron: "0 3 * * *", timeZone: "America/New_York" } }));
    const p = await statusOf("RotationPolicy", "nightly");
    expect(condition(p, "Valid")).toEqual(expect.objectContaining({ status: "True", reason: "PolicyValid" }));
  });

  it("refuses a time zone that does not exist, naming the field", async () => {
    await kube.create(keywardObject("RotationPolicy", ns.name, "mars", { schedule: { cron: "0 3 * * *", timeZone: "Mars/Olympus_Mons" } }));
    const valid = condition(await statusOf("RotationPolicy", "mars"), "Valid");
    expect(valid?.reason).toBe("InvalidPolicy");
    expect(valid?.message).toContain('spec.schedule.timeZone: "Mars/Olympus_Mons" is not an IANA time zone');
  });

  it("refuses a pre-publication window longer than the cron interval, on a cluster-scoped policy too", async () => {
    await kube.create({
      apiVersion: "keyward.dev/v1alpha1",
      kind: "ClusterRotationPolicy",
      metadata: { name: clusterPolicy },
      spec: { schedule: { cron: "15 * * * *" }, prePublish: "90m" },
    });
    const valid = condition(await statusOf("ClusterRotationPolicy", clusterPolicy, false), "Valid");
    expect(valid?.status).toBe("False");
    expect(valid?.message).toMatch(/spec\.prePublish: must be shorter than the shortest interval.*1h.*shorten prePublish/);
  });
});

describe("a bundle over the size limit", () => {
  it("is not written; the ApiKeys say so in Published and the metric counts the tenant", async () => {
    await kube.create(keywardObject("ApiKey", ns.name, "small", { policies: ["good"] }));
    const small = await apiKeyWhen(kube, ns.name, "small", (k) => isTrue(condition(k, "Published")), "Published");
    const generation = (await readBundle(kube, ns.name))?.generation;
    expect(small.status?.bundleGeneration).toBe(generation);

    for (let i = 0; i < 20; i++) {
      await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name: `filler-${i}`, namespace: ns.name }, spec: { policies: ["good"] } });
    }
    const k = await apiKeyWhen(kube, ns.name, "small", (x) => condition(x, "Published")?.reason === "BundleTooLarge", "BundleTooLarge");
    expect(condition(k, "Published")?.status).toBe("False");
    expect(condition(k, "Published")?.message).toMatch(/over the limit of 6000 bytes.*remove unused ApiKeys/);
    await settled(ctl.running);
    const metric = await ctl.running.manager.metrics.registry.getSingleMetricAsString("keyward_bundles_too_large");
    expect(metric).toMatch(/^keyward_bundles_too_large 1$/m);
    const bundle = await readBundle(kube, ns.name);
    expect(Object.keys(bundle?.apiKeys ?? {}).length).toBeLessThan(21);
    await eventSeen(kube, ns.name, "small", "BundleTooLarge");

    for (let i = 0; i < 20; i++) await kube.delete({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", namespace: ns.name, name: `filler-${i}` });
    await apiKeyWhen(kube, ns.name, "small", (x) => isTrue(condition(x, "Published")), "Published again");
    await settled(ctl.running);
    expect(await ctl.running.manager.metrics.registry.getSingleMetricAsString("keyward_bundles_too_large")).toMatch(/^keyward_bundles_too_large 0$/m);
  });
});
