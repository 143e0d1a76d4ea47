// config/webhook as config/default installs it, and config/injection for tenants.
import { describe, expect, it } from "vitest";
import { parseControllerArgs } from "../../src/cli/controller/options.ts";
import { bundleSegmentNames } from "../../src/model/names.ts";
import { kustomizeBuild, one, type Manifest } from "./support/kustomize.ts";

interface Webhook {
  name: string;
  clientConfig: { service?: { name: string; namespace: string; path: string; port: number }; caBundle?: string };
  rules: { apiGroups: string[]; resources: string[]; operations: string[] }[];
  objectSelector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  namespaceSelector: { matchExpressions: { key: string; operator: string; values?: string[] }[] };
  failurePolicy: string;
  sideEffects: string;
  timeoutSeconds: number;
  reinvocationPolicy: string;
}
interface Rule { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }

const manifests = kustomizeBuild("config/default");
const configuration = one<Manifest & { webhooks: Webhook[] }>(manifests, "MutatingWebhookConfiguration", "keyward-injector");

describe("the sidecar-injection webhook of config/default", () => {
  it("is called only for Pods that opted in, by their label or their namespace's, never in the system namespaces", () => {
    const [byPod, byNamespace] = configuration.webhooks;
    expect(byPod!.objectSelector).toEqual({ matchLabels: { "keyward.dev/inject": "true" } });
    expect(byNamespace!.objectSelector).toEqual({ matchExpressions: [{ key: "keyward.dev/inject", operator: "DoesNotExist" }] });
    expect(byNamespace!.namespaceSelector.matchExpressions).toContainEqual({ key: "keyward.dev/inject", operator: "In", values: ["enabled"] });
    for (const w of configuration.webhooks) {
      expect(w.namespaceSelector.matchExpressions).toContainEqual({ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "kube-node-lease", "keyward-system"] });
      expect(w.rules).toEqual([{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" }]);
    }
  });

  it("fails closed, has no side effects, a short timeout, and is not re-invoked", () => {
    for (const w of configuration.webhooks) {
      expect([w.failurePolicy, w.sideEffects, w.timeoutSeconds, w.reinvocationPolicy]).toEqual(["Fail", "None", 5, "Never"]);
      expect(w.clientConfig).toEqual({ service: { name: "keyward-webhook", namespace: "keyward-system", path: "/inject", port: 443 } });
    }
  });

  it("reaches every controller replica's webhook port through the Service keyward-webhook", () => {
    const service = one<Manifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string }[] } }>(manifests, "Service", "keyward-webhook");
    const deployment = one<Manifest & { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { args: string[]; ports: { name: string; containerPort: number }[] }[] } } } }>(manifests, "Deployment", "keyward-controller");
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    expect(service.spec.ports).toEqual([{ name: "webhook", port: 443, targetPort: "webhook", protocol: "TCP" }]);
    const container = deployment.spec.template.spec.containers[0]!;
    expect(container.ports).toContainEqual({ name: "webhook", containerPort: 9443, protocol: "TCP" });
    const config = parseControllerArgs(container.args.slice(1), { POD_NAMESPACE: "keyward-system" });
    expect(config.webhook).toEqual({ listen: { host: "0.0.0.0", port: 9443 }, image: null, serviceName: "keyward-webhook", secretName: "keyward-webhook-tls", configurationName: "keyward-injector", files: null });
  });

  it("lets the controller write only its own webhook configuration, watch Services and Pods, and get Pods only in its namespace", () => {
    const role = one<Manifest & { rules: Rule[] }>(manifests, "ClusterRole", "keyward-webhook");
    expect(role.rules).toEqual([
      { apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], resourceNames: ["keyward-injector"], verbs: ["get", "update"] },
      { apiGroups: [""], resources: ["services", "pods"], verbs: ["list", "watch"] },
    ]);
    const own = one<Manifest & { rules: Rule[] }>(manifests, "Role", "keyward-webhook");
    expect(own.metadata.namespace).toBe("keyward-system");
    expect(own.rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }]);
    for (const name of ["keyward-webhook"]) {
      const binding = one<Manifest & { subjects: unknown[] }>(manifests, "ClusterRoleBinding", name);
      expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "keyward-controller", namespace: "keyward-system" }]);
    }
  });
});

describe("config/injection, for a tenant namespace", () => {
  it("holds the verifier's Role on the bundle ConfigMap and its segments and the NetworkPolicy for injected Pods, and no sidecar patch", () => {
    const tenant = kustomizeBuild("config/injection");
    expect(tenant.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(["NetworkPolicy/keyward-verifier", "Role/keyward-verifier", "RoleBinding/keyward-verifier"]);
    expect(one<Manifest & { rules: Rule[] }>(tenant, "Role", "keyward-verifier").rules).toEqual([
      { apiGroups: [""], resources: ["configmaps"], resourceNames: ["keyward-bundle"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["configmaps"], resourceNames: bundleSegmentNames(), verbs: ["get"] },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create", "patch"] },
    ]);
    expect(one<Manifest & { spec: { podSelector: unknown } }>(tenant, "NetworkPolicy", "keyward-verifier").spec.podSelector).toEqual({ matchLabels: { "keyward.dev/protect": "true" } });
  });
});
