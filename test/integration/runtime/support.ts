// Shared setup of the runtime's integration tests: a KubeClient on the cluster
// the run provides, a namespace per test file, and a small CRD of our own with a
// status subresource (so these tests do not depend on keyward's CRDs' schemas).

import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, inject } from "vitest";
import { KubeClient } from "../../../src/kube/client.ts";
import { loadKubeConfig } from "../../../src/kube/config.ts";
import type { Resource } from "../../../src/kube/resources.ts";
import { Resources } from "../../../src/kube/resources.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { WriteCounter } from "../../../src/kube/writes.ts";
import { eventually } from "../harness/index.ts";
import "../harness/provided.ts";

export { eventually };

export const crds: Resource = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};

export const gadgets: Resource = { group: "runtime-test.keyward.dev", version: "v1", plural: "gadgets", kind: "Gadget", namespaced: true };

export interface Gadget extends KubeObject {
  spec?: { size?: number; color?: string };
  status?: Record<string, unknown>;
}

export function client(fieldManager = "keyward-runtime-test", writes = new WriteCounter()): KubeClient {
  const { kubeConfig } = loadKubeConfig({ path: inject("kubeconfigPath") });
  return new KubeClient({ kubeConfig, fieldManager, writes });
}

/** Installs the Gadget CRD (idempotent: server-side apply) and waits until it is served. */
export async function installGadgetCrd(c: KubeClient): Promise<void> {
  await c.apply(crds, {
    metadata: { name: `${gadgets.plural}.${gadgets.group}` },
    spec: {
      group: gadgets.group,
      scope: "Namespaced",
      names: { plural: gadgets.plural, singular: "gadget", kind: gadgets.kind, listKind: "GadgetList" },
      versions: [
        {
          name: gadgets.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: {
                  type: "object",
                  properties: { size: { type: "integer", minimum: 0 }, color: { type: "string" } },
                },
                status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
              },
            },
          },
        },
      ],
    },
  } as KubeObject);
  await eventually("the Gadget CRD to be served", async () => {
    await c.list(gadgets, { namespace: "default", limit: 1 });
    return true;
  });
}

/** A fresh namespace for the calling test file, deleted afterwards. */
export function useTestNamespace(c: KubeClient, prefix: string): { readonly name: string } {
  let name: string | undefined;
  beforeAll(async () => {
    name = `${prefix}-${randomBytes(4).toString("hex")}`;
    await c.create(Resources.namespaces, { metadata: { name, labels: { "keyward.dev/test": "integration" } } });
  });
  afterAll(async () => {
    if (name !== undefined) await c.delete(Resources.namespaces, { name }, { ignoreNotFound: true });
  });
  return {
    get name(): string {
      if (name === undefined) throw new Error("the namespace exists only once beforeAll has run");
      return name;
    },
  };
}

/** Polls a probe that may be synchronous until it yields something (see the harness's eventually). */
export function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, opts?: { timeoutMs?: number }): Promise<T> {
  return eventually(what, async () => await probe(), opts);
}
