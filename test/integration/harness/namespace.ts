import { randomBytes } from "node:crypto";
import { afterAll, beforeAll } from "vitest";
import { eventually, type Kube } from "./kube.ts";

export interface TestNamespace {
  /** Valid after beforeAll has run. */
  readonly name: string;
}

/** A fresh namespace named `<prefix>-<random>` (a DNS label of at most 63 characters). */
export async function createNamespace(kube: Kube, prefix: string): Promise<string> {
  const base = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50) || "test";
  const name = `${base}-${randomBytes(4).toString("hex")}`;
  await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { "keyward.dev/test": "integration" } } });
  return name;
}

/**
 * Gives the calling test file its own fresh namespace: created in beforeAll,
 * deleted (without waiting for the namespace controller) in afterAll.
 */
export function useNamespace(kube: Kube, prefix: string): TestNamespace {
  let name: string | undefined;
  beforeAll(async () => {
    name = await createNamespace(kube, prefix);
  });
  afterAll(async () => {
    if (name !== undefined) await kube.delete({ apiVersion: "v1", kind: "Namespace", name });
  });
  return {
    get name(): string {
      if (name === undefined) throw new Error("useNamespace: the namespace exists only once beforeAll has run");
      return name;
    },
  };
}

/**
 * keyward's own namespace (the controller's default --system-namespace), where
 * the ApiKeys' signing-key Secrets live: shared by every test file, created by
 * the first that needs it (apply: idempotent), never deleted.
 */
export const SYSTEM_NAMESPACE = "keyward-system";

export async function ensureSystemNamespace(kube: Kube): Promise<string> {
  // A demo run that created it deletes it again: wait for that to finish, then create it anew.
  await eventually(`namespace ${SYSTEM_NAMESPACE} to exist, not terminating`, async () => {
    const ns = await kube.find({ apiVersion: "v1", kind: "Namespace", name: SYSTEM_NAMESPACE });
    if (ns === undefined) await kube.apply({ apiVersion: "v1", kind: "Namespace", metadata: { name: SYSTEM_NAMESPACE } });
    return ns !== undefined && ns.metadata.deletionTimestamp === undefined;
  });
  return SYSTEM_NAMESPACE;
}
