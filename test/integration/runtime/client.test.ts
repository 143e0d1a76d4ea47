import { beforeAll, describe, expect, it } from "vitest";
import type { KubeClient } from "../../../src/kube/client.ts";
import { AlreadyExistsError, ConflictError, InvalidError, KubeError, NotFoundError } from "../../../src/kube/errors.ts";
import { Resources } from "../../../src/kube/resources.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { WriteCounter } from "../../../src/kube/writes.ts";
import { client, gadgets, installGadgetCrd, useTestNamespace, type Gadget } from "./support.ts";

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const writes = new WriteCounter();
const kube: KubeClient = client("keyward-runtime-test", writes);
const ns = useTestNamespace(kube, "rt-client");

beforeAll(async () => {
  await installGadgetCrd(kube);
});

describe("KubeClient against the API server", () => {
  it("merge-patches with application/merge-patch+json: null removes a key, other keys merge", async () => {
    const ref = { namespace: ns.name, name: "merge" };
    await kube.create<ConfigMap>(Resources.configMaps, { metadata: ref, data: { a: "1", b: "2" } });
    const patched = await kube.mergePatch<ConfigMap>(Resources.configMaps, ref, { data: { a: null, c: "3" } });
    expect(patched.data).toEqual({ b: "2", c: "3" });
  });

  it("applies server-side with its field manager, and applying again changes nothing", async () => {
    const obj: ConfigMap = { metadata: { namespace: ns.name, name: "applied", labels: { app: "keyward" } }, data: { k: "v" } };
    const first = await kube.apply(Resources.configMaps, obj);
    const entry = first.metadata?.managedFields?.find((m) => m.manager === "keyward-runtime-test");
    expect(entry?.operation).toBe("Apply");
    const second = await kube.apply(Resources.configMaps, obj);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
  });

  it("removes fields an apply no longer names, as server-side apply owns them", async () => {
    const ref = { namespace: ns.name, name: "pruned" };
    await kube.apply<ConfigMap>(Resources.configMaps, { metadata: ref, data: { keep: "1", drop: "2" } });
    const after = await kube.apply<ConfigMap>(Resources.configMaps, { metadata: ref, data: { keep: "1" } });
    expect(after.data).toEqual({ keep: "1" });
  });

  it("surfaces an apply conflict with another manager as ConflictError naming the field, and forces it by default", async () => {
    const ref = { namespace: ns.name, name: "contested" };
    const other = client("someone-else");
    await other.apply<ConfigMap>(Resources.configMaps, { metadata: ref, data: { owner: "them" } });
    const err = await kube.apply<ConfigMap>(Resources.configMaps, { metadata: ref, data: { owner: "us" } }, { force: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).causes.some((c) => c.field === ".data.owner")).toBe(true);
    const forced = await kube.apply<ConfigMap>(Resources.configMaps, { metadata: ref, data: { owner: "us" } });
    expect(forced.data?.owner).toBe("us");
  });

  it("surfaces a stale resourceVersion on replace as ConflictError", async () => {
    const created = await kube.create<ConfigMap>(Resources.configMaps, { metadata: { namespace: ns.name, name: "stale" }, data: { v: "1" } });
    await kube.replace(Resources.configMaps, { ...created, data: { v: "2" } });
    const err = await kube.replace(Resources.configMaps, { ...created, data: { v: "3" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).code).toBe("ERR_KUBE_CONFLICT");
    expect((err as ConflictError).reason).toBe("Conflict");
    expect((await kube.get<ConfigMap>(Resources.configMaps, { namespace: ns.name, name: "stale" })).data).toEqual({ v: "2" });
  });

  it("refuses a merge patch whose resourceVersion precondition is stale", async () => {
    const created = await kube.create<ConfigMap>(Resources.configMaps, { metadata: { namespace: ns.name, name: "precondition" } });
    await kube.mergePatch(Resources.configMaps, { namespace: ns.name, name: "precondition" }, { data: { a: "1" } });
    await expect(
      kube.mergePatch(Resources.configMaps, { namespace: ns.name, name: "precondition" }, { data: { b: "1" } }, { resourceVersion: created.metadata!.resourceVersion! }),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it("writes status only through the status subresource: replace, merge patch and apply", async () => {
    const created = await kube.create<Gadget>(gadgets, { metadata: { namespace: ns.name, name: "g1" }, spec: { size: 1 } });
    expect(created.metadata?.generation).toBe(1);
    const replaced = await kube.replaceStatus<Gadget>(gadgets, { ...created, spec: { size: 99 }, status: { phase: "Ready" } });
    expect(replaced.status).toEqual({ phase: "Ready" });
    expect(replaced.spec).toEqual({ size: 1 });
    const patched = await kube.mergePatchStatus<Gadget>(gadgets, { namespace: ns.name, name: "g1" }, { status: { observedGeneration: 1 } });
    expect(patched.status).toEqual({ phase: "Ready", observedGeneration: 1 });
    const applied = await kube.applyStatus<Gadget>(gadgets, { metadata: { namespace: ns.name, name: "g1" }, status: { phase: "Applied" } });
    expect(applied.status?.phase).toBe("Applied");
    expect(applied.metadata?.generation).toBe(1);
    const withSpecInMainWrite = await kube.mergePatch<Gadget>(gadgets, { namespace: ns.name, name: "g1" }, { status: { phase: "ignored" } });
    expect(withSpecInMainWrite.status?.phase).toBe("Applied");
  });

  it("carries the server's field causes in InvalidError", async () => {
    const err = await kube.create<Gadget>(gadgets, { metadata: { namespace: ns.name, name: "bad" }, spec: { size: -1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidError);
    expect((err as InvalidError).code).toBe("ERR_KUBE_INVALID");
    expect((err as InvalidError).causes.map((c) => c.field)).toContain("spec.size");
    expect((err as Error).message).toContain(`create gadgets.runtime-test.keyward.dev ${ns.name}/bad`);
    expect((err as Error).message).toContain("spec.size");
  });

  it("answers NotFoundError and AlreadyExistsError with their codes", async () => {
    const nf = await kube.get(Resources.secrets, { namespace: ns.name, name: "missing" }).catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(NotFoundError);
    expect((nf as KubeError).code).toBe("ERR_KUBE_NOT_FOUND");
    await kube.create(Resources.secrets, { metadata: { namespace: ns.name, name: "twice" } });
    const ae = await kube.create(Resources.secrets, { metadata: { namespace: ns.name, name: "twice" } }).catch((e: unknown) => e);
    expect(ae).toBeInstanceOf(AlreadyExistsError);
    expect((ae as KubeError).code).toBe("ERR_KUBE_ALREADY_EXISTS");
  });

  it("deletes with a uid precondition, refusing to delete a recreated object", async () => {
    const ref = { namespace: ns.name, name: "recreated" };
    const first = await kube.create(Resources.configMaps, { metadata: ref });
    await kube.delete(Resources.configMaps, ref);
    await kube.create(Resources.configMaps, { metadata: ref });
    await expect(kube.delete(Resources.configMaps, ref, { preconditions: { uid: first.metadata.uid! } })).rejects.toBeInstanceOf(ConflictError);
    expect(await kube.delete(Resources.configMaps, ref)).toBe(true);
    expect(await kube.delete(Resources.configMaps, ref, { ignoreNotFound: true })).toBe(false);
  });

  it("counts every write it sent, by verb and resource", async () => {
    const counter = new WriteCounter();
    const c = client("keyward-runtime-test", counter);
    const ref = { namespace: ns.name, name: "counted" };
    const cm = await c.create<ConfigMap>(Resources.configMaps, { metadata: ref });
    await c.get(Resources.configMaps, ref);
    await c.list(Resources.configMaps, { namespace: ns.name });
    await c.replace(Resources.configMaps, { ...cm, data: { a: "1" } });
    await c.mergePatch(Resources.configMaps, ref, { data: { b: "1" } });
    await c.apply(Resources.configMaps, { metadata: ref, data: { c: "1" } });
    await c.delete(Resources.configMaps, ref);
    expect(counter.snapshot()).toEqual([
      { verb: "apply", resource: "configmaps", count: 1 },
      { verb: "create", resource: "configmaps", count: 1 },
      { verb: "delete", resource: "configmaps", count: 1 },
      { verb: "patch", resource: "configmaps", count: 1 },
      { verb: "update", resource: "configmaps", count: 1 },
    ]);
    expect(writes.count()).toBeGreaterThan(0);
  });
});
