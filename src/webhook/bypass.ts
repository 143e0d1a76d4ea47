// Reports Services that reach an injected workload's app directly, around its verifier (the
// leader only, like every reconciler): a Warning Event VerifierBypassed on the Service naming the
// port and the fix, and the gauge keyward_verifier_bypass_ports{namespace,service}, 0 once fixed.
// Level-based: every change of a Service, or of an injected Pod, re-checks the Services of its
// namespace.

import { Gauge, type Registry } from "prom-client";
import { bypasses, PROTECT_LABEL, type PodLike, type ServiceLike } from "../injector/index.ts";
import type { KubeObject } from "../kube/types.ts";
import type { Resource } from "../kube/resources.ts";

export const SERVICES: Resource = { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true };
export const PODS: Resource = { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true };
/** Injected Pods carry this label: the Pod informer lists only them. */
export const INJECTED_PODS_SELECTOR = `${PROTECT_LABEL}=true`;
export const BYPASS_REASON = "VerifierBypassed";

export type ServiceObject = KubeObject & ServiceLike;
export type PodObject = KubeObject & PodLike;

export interface BypassDeps {
  services: { get(namespace: string, name: string): ServiceObject | undefined };
  pods: { list(namespace: string): PodObject[] };
  warn(service: ServiceObject, reason: typeof BYPASS_REASON, message: string): Promise<void>;
  gauge: Gauge;
}

export function bypassGauge(registry: Registry): Gauge {
  return new Gauge({
    name: "keyward_verifier_bypass_ports",
    help: "Ports of a Service that reach an injected workload's app directly instead of its keyward verifier",
    labelNames: ["namespace", "service"],
    registers: [registry],
  });
}

/** The reconciler of one Service key ("namespace/name"). */
export function bypassReconciler(deps: BypassDeps): (key: string) => Promise<void> {
  return async (key) => {
    const [namespace = "", name = ""] = key.split("/");
    const service = deps.services.get(namespace, name);
    if (service === undefined) {
      deps.gauge.remove({ namespace, service: name });
      return;
    }
    const found = bypasses(service, deps.pods.list(namespace));
    const ports = new Set(found.map((b) => b.port));
    deps.gauge.set({ namespace, service: name }, ports.size);
    if (found.length === 0) return;
    const first = found[0]!;
    await deps.warn(
      service,
      BYPASS_REASON,
      `Service ${namespace}/${name} port ${first.port} targets port ${first.targetPort} of Pod ${first.pod}, its app, not the keyward verifier injected there: requests skip the check. Set the port's targetPort to "keyward" (the verifier's port), and bind the app to 127.0.0.1`,
    );
  };
}
