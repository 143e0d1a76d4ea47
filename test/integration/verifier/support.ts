// What the verifier's tests on the real API server share: the verifier's own identity, a
// ServiceAccount bound to the Role of config/verifier (as config/verifier/role_binding.yaml
// binds it), authenticated with a TokenRequest token.

import { readFileSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT } from "../controller/support.ts";
import { serviceAccountGroups, serviceAccountKubeConfig, serviceAccountUser, untilAllowed } from "../../config/support/identity.ts";
import type { Kube, KubeObject } from "../harness/index.ts";

interface RoleManifest extends KubeObject {
  rules: unknown[];
}

interface RoleBindingManifest extends KubeObject {
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}

function manifest(path: string): unknown {
  return parseYaml(readFileSync(new URL(path, REPO_ROOT), "utf8"));
}

/**
 * A kubeconfig for the ServiceAccount `keyward-verifier`, bound to config/verifier/role.yaml
 * through config/verifier/role_binding.yaml (its subject pointed at that ServiceAccount).
 */
export async function verifierIdentity(kube: Kube, namespace: string): Promise<KubeConfig> {
  const name = "keyward-verifier";
  const role = manifest("config/verifier/role.yaml") as RoleManifest;
  const binding = manifest("config/verifier/role_binding.yaml") as RoleBindingManifest;
  await kube.create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace } });
  await kube.create({ ...role, metadata: { ...role.metadata, namespace } });
  await kube.create({ ...binding, metadata: { ...binding.metadata, namespace }, subjects: [{ kind: "ServiceAccount", name, namespace }] });
  const kc = await serviceAccountKubeConfig(kube, namespace, name, { expirationSeconds: 3600, contextNamespace: namespace });
  await untilAllowed(kube, "the verifier's RBAC to take effect", serviceAccountUser(namespace, name), { verb: "watch", resource: "configmaps", name: "keyward-bundle", namespace }, serviceAccountGroups(namespace));
  return kc;
}
