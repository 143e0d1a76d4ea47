// What the demo reads and writes in the cluster: applying the samples, waiting for ApiKeys and
// AccessTokens to be Ready, reading a token from its Secret (never printing it), the
// verifier's least-privilege credentials, and the CRDs present.

import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { AccessToken, ApiKey, Condition } from "../api/index.ts";
import { kubeJson } from "../controlplane/index.ts";
import { isAlreadyExists, KubeClient, loadKubeConfig, Resources, type KubeObject, type Resource } from "../kube/index.ts";
import { tokenFromSecret, tokenSecretName } from "../plugin/index.ts";
import { decodeUnverified } from "../token/index.ts";
import { readManifestFiles, type Manifest } from "./manifests.ts";

export const DEMO_FIELD_MANAGER = "keyward-demo";

const EXTRA_RESOURCES: Readonly<Record<string, Resource>> = {
  ServiceAccount: { group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true },
  Role: { group: "rbac.authorization.k8s.io", version: "v1", plural: "roles", kind: "Role", namespaced: true },
  RoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", plural: "rolebindings", kind: "RoleBinding", namespaced: true },
  CustomResourceDefinition: {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
  },
};

/** The API resource of a kind the demo applies. */
export function resourceFor(kind: string): Resource {
  const known = Object.values(Resources).find((r) => r.kind === kind && r.group !== "events.k8s.io") ?? EXTRA_RESOURCES[kind];
  if (known === undefined) throw new Error(`the demo does not know how to apply a ${kind}`);
  return known;
}

export function connect(kubeconfigPath: string): KubeClient {
  const { kubeConfig } = loadKubeConfig({ path: kubeconfigPath, env: {} });
  return new KubeClient({ kubeConfig, fieldManager: DEMO_FIELD_MANAGER, userAgent: DEMO_FIELD_MANAGER });
}

/** The names of the CRDs in `crdDir` that the cluster does not serve. */
export async function missingCrds(client: KubeClient, crdDir: string): Promise<string[]> {
  const names: string[] = [];
  for (const file of readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(crdDir, file), "utf8"))) {
      const name = (doc.toJS() as { metadata?: { name?: unknown } } | null)?.metadata?.name;
      if (typeof name === "string") names.push(name);
    }
  }
  const missing: string[] = [];
  for (const name of names) {
    if ((await client.find(resourceFor("CustomResourceDefinition"), { name })) === undefined) missing.push(name);
  }
  return missing;
}

/** Server-side applies each manifest in order. */
export async function applyManifests(client: KubeClient, manifests: readonly Manifest[], signal?: AbortSignal): Promise<void> {
  for (const m of manifests) await client.apply(resourceFor(m.kind), m, { signal });
}

export function conditionOf(obj: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === type);
}

/** "Ready=False (RotationPolicyNotFound): …", or "no Ready condition yet". */
export function describeCondition(obj: { status?: { conditions?: Condition[] } }, type = "Ready"): string {
  const c = conditionOf(obj, type);
  return c === undefined ? `no ${type} condition yet` : `${type}=${c.status} (${c.reason}): ${c.message}`;
}

/** Why an ApiKey is not ready for the demo yet, or null when it is (Ready, published in the bundle). */
export function apiKeyNotReady(key: ApiKey): string | null {
  const name = `apikey ${key.metadata.name ?? ""}`;
  const ready = conditionOf(key, "Ready");
  if (ready?.status !== "True" || key.status?.observedGeneration !== key.metadata.generation) return `${name}: ${describeCondition(key)}`;
  if (key.status?.activeKid === undefined) return `${name}: no active key in status`;
  if (conditionOf(key, "Published")?.status !== "True" || key.status.bundleGeneration === undefined) return `${name}: ${describeCondition(key, "Published")}`;
  return null;
}

/** Why an AccessToken is not ready, or null when it holds a token of its ApiKey's active key. */
export function accessTokenNotReady(token: AccessToken, key: ApiKey | undefined): string | null {
  const name = `accesstoken ${token.metadata.name ?? ""}`;
  const ready = conditionOf(token, "Ready");
  if (ready?.status !== "True" || token.status?.observedGeneration !== token.metadata.generation) return `${name}: ${describeCondition(token)}`;
  if (key?.status?.activeKid !== undefined && token.status?.kid !== key.status.activeKid) {
    return `${name}: signed by ${token.status?.kid ?? "no key"}, not yet re-issued with the active key ${key.status.activeKid}`;
  }
  return null;
}

export interface DemoToken {
  /** The AccessToken it came from. */
  accessToken: string;
  /** The JWT. Sent in requests, never printed. */
  token: string;
  kid: string;
  jti: string;
}

/** The short form of a kid the timeline shows. */
export function shortKid(kid: string): string {
  return kid.slice(0, 8);
}

/** The token in an AccessToken's Secret, with its kid and jti (read from the token itself). */
export async function readToken(client: KubeClient, namespace: string, accessTokenName: string, signal?: AbortSignal): Promise<DemoToken> {
  const at = await client.get<AccessToken & KubeObject>(Resources.accessTokens, { name: accessTokenName, namespace }, { signal });
  const secret = await client.get(Resources.secrets, { name: tokenSecretName(at), namespace }, { signal });
  const token = tokenFromSecret(secret, at);
  const { header, claims } = decodeUnverified(token);
  const kid = (header as { kid?: unknown }).kid;
  const jti = (claims as { jti?: unknown }).jti;
  if (typeof kid !== "string" || typeof jti !== "string") throw new Error(`the token of accesstoken ${accessTokenName} has no kid or jti`);
  return { accessToken: accessTokenName, token, kid, jti };
}

/**
 * The verifier's credentials as a sidecar would have them: config/verifier's Role (get, list,
 * watch on the ConfigMap keyward-bundle, get on its revocation segments, nothing else) bound to
 * the namespace's ServiceAccount `default`, and a one-hour token of that ServiceAccount in a kubeconfig file (mode 0600).
 */
export async function writeVerifierKubeconfig(client: KubeClient, namespace: string, verifierConfigDir: string, file: string, signal?: AbortSignal): Promise<void> {
  const objects = readManifestFiles(verifierConfigDir, ["role.yaml", "role_binding.yaml"]).map((m) => ({
    ...m,
    metadata: { ...m.metadata, namespace },
  }));
  const serviceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace } };
  try {
    await client.create(resourceFor("ServiceAccount"), serviceAccount, { signal });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  await applyManifests(client, objects, signal);
  const review = await kubeJson<{ status?: { token?: string } }>(client.kubeConfig, {
    method: "POST",
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/default/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 3600 } },
  });
  const saToken = review.status?.token;
  if (saToken === undefined) throw new Error(`the API server issued no token for serviceaccount default in namespace ${namespace}`);
  const cluster = client.kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error("the kubeconfig has no current cluster");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: "demo" }],
    users: [{ name: "verifier", token: saToken }],
    contexts: [{ name: "verifier", cluster: "demo", user: "verifier", namespace }],
    currentContext: "verifier",
  });
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  chmodSync(file, 0o600);
}

/**
 * keyward's own namespace for the demo's controller (its bundle-signing keys, trust ConfigMap
 * and records), created next to the tenant, with config/trust applied in it so the verifier
 * may read the trust ConfigMap. A namespace of the demo's own: on an existing cluster,
 * keyward-system belongs to the keyward installed there.
 */
export async function createSystemNamespace(client: KubeClient, name: string, trustConfigDir: string, signal?: AbortSignal): Promise<void> {
  try {
    await client.create(Resources.namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, { signal });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  const objects = readManifestFiles(trustConfigDir, ["role.yaml", "role_binding.yaml"]).map((m) => ({ ...m, metadata: { ...m.metadata, namespace: name } }));
  await applyManifests(client, objects, signal);
}

/** The demo's system namespace for tenant `namespace`. */
export function demoSystemNamespace(namespace: string): string {
  return `${namespace.slice(0, 55)}-keyward`;
}
