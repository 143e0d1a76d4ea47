// The webhook on a real API server: the controller in-process under the RBAC of config/rbac and
// config/webhook (not cluster-admin), serving on a free local port, and the
// MutatingWebhookConfiguration of config/webhook registered with a URL client config to that
// port (there is no Service routing here) and narrowed to the test's namespaces.

import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { freePorts } from "../../../src/controlplane/index.ts";
import type { StartWebhookOptions } from "../../../src/webhook/index.ts";
import { serviceAccountGroups, serviceAccountUser, untilAllowed } from "../../config/support/identity.ts";
import { controllerIdentity, REPO_ROOT, runController, type TestController } from "../controller/support.ts";
import { eventually, type Kube, type KubeObject } from "../harness/index.ts";

export const IMAGE = "ghcr.io/keyward/keyward:0.1.0";
export const CONFIGURATION = "keyward-injector";

interface Manifest extends KubeObject {
  rules?: unknown[];
  webhooks?: { name: string; clientConfig: Record<string, unknown>; namespaceSelector: { matchExpressions: unknown[] }; [k: string]: unknown }[];
}

function manifests(path: string): Manifest[] {
  return parseAllDocuments(readFileSync(new URL(path, REPO_ROOT), "utf8")).map((d) => d.toJSON() as Manifest);
}

export interface WebhookFixture {
  /** The replicas; webhook i of the configuration calls replica i modulo their number. */
  replicas: TestController[];
  /** Stops the replicas and removes the configuration and the RBAC (call it from afterAll). */
  stop(): Promise<void>;
}

/**
 * Starts the controller with the webhook in `namespace` (its Secret lives there) and registers
 * config/webhook/webhook.yaml for Pods of `tenants`. The caller stops it in afterAll (hooks
 * registered inside beforeAll would not run).
 */
export async function startWithWebhook(kube: Kube, namespace: string, tenants: readonly string[], webhook: Partial<StartWebhookOptions> = {}, replicas = 1): Promise<WebhookFixture> {
  const kc = await controllerIdentity(kube, namespace);
  const sa = "keyward-controller";
  const [clusterRole] = manifests("config/webhook/rbac.yaml");
  await kube.apply({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: `keyward-webhook-${namespace}` }, rules: clusterRole!.rules });
  await kube.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `keyward-webhook-${namespace}` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: `keyward-webhook-${namespace}` },
    subjects: [{ kind: "ServiceAccount", name: sa, namespace }],
  });
  await untilAllowed(kube, "the webhook's RBAC to take effect", serviceAccountUser(namespace, sa), {
    verb: "update", resource: "mutatingwebhookconfigurations", group: "admissionregistration.k8s.io", name: CONFIGURATION,
  }, serviceAccountGroups(namespace));

  const ports = await freePorts(replicas);
  const [configuration] = manifests("config/webhook/webhook.yaml");
  for (const [i, w] of (configuration!.webhooks ?? []).entries()) {
    w.clientConfig = { url: `https://127.0.0.1:${ports[i % replicas]!}/inject` };
    // Only the test's namespaces, whatever else the selector says.
    w.namespaceSelector.matchExpressions.push({ key: "kubernetes.io/metadata.name", operator: "In", values: [...tenants] });
  }
  await kube.delete({ apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", name: CONFIGURATION });
  await kube.create(configuration!);

  const started: TestController[] = [];
  for (const port of ports) {
    started.push(await runController(kc, namespace, {
    namespaces: [namespace, ...tenants],
    webhook: {
      host: "127.0.0.1",
      port,
      image: IMAGE,
      namespace,
      serviceName: "keyward-webhook",
      secretName: "keyward-webhook-tls",
      configurationName: CONFIGURATION,
      extraHosts: ["127.0.0.1"],
      checkIntervalMs: 500,
      ...webhook,
    },
    }));
  }
  const stop = async (): Promise<void> => {
    for (const r of started) await r.running.stop();
    await kube.delete({ apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", name: CONFIGURATION });
    await kube.delete({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", name: `keyward-webhook-${namespace}` });
    await kube.delete({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", name: `keyward-webhook-${namespace}` });
  };
  // The caBundle is written: the API server can call the webhook.
  await eventually("the caBundle of the webhook configuration", async () => {
    const c = await kube.get<Manifest>({ apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration", name: CONFIGURATION });
    return (c.webhooks ?? []).every((w) => typeof w.clientConfig.caBundle === "string" && w.clientConfig.caBundle !== "");
  });
  return { replicas: started, stop };
}

export interface PodObject extends KubeObject {
  spec: { containers: { name: string; [k: string]: unknown }[]; initContainers?: { name: string; [k: string]: unknown }[]; [k: string]: unknown };
}

/** A Pod of `namespace` (never scheduled here: there is no node), labelled as given. */
export function pod(namespace: string, name: string, labels: Record<string, string>, annotations: Record<string, string> = {}): PodObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels, annotations },
    spec: { containers: [{ name: "app", image: "echo:1", ports: [{ containerPort: 8080 }] }] },
  };
}

/** Waits for the namespace's default ServiceAccount (Pods cannot be created before it exists). */
export async function defaultServiceAccount(kube: Kube, namespace: string): Promise<void> {
  await eventually(`the default ServiceAccount of ${namespace}`, async () => (await kube.find({ apiVersion: "v1", kind: "ServiceAccount", namespace, name: "default" })) !== undefined);
}
