// Which ports of a Service reach an injected Pod's app directly instead of its verifier. A
// Service port whose targetPort, resolved in a Pod it selects, is not a port of the
// keyward-verifier container sends requests around the check. Pure.

import { SIDECAR_NAME } from "./sidecar.ts";
import type { Container, PodLike } from "./pod.ts";

export interface ServiceLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { selector?: Record<string, string>; ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[] };
}

export interface Bypass {
  /** The Service port, e.g. 80. */
  port: number;
  /** The container port it reaches. */
  targetPort: number;
  /** The Pod it reaches it in. */
  pod: string;
}

function selects(selector: Record<string, string> | undefined, pod: PodLike): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false;
  const labels = pod.metadata?.labels ?? {};
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function sidecarOf(pod: PodLike): Container | undefined {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === SIDECAR_NAME);
}

/** The Service ports that bypass the verifier of the injected Pods they select. */
export function bypasses(service: ServiceLike, pods: readonly PodLike[]): Bypass[] {
  const out: Bypass[] = [];
  for (const pod of pods) {
    const sidecar = sidecarOf(pod);
    if (sidecar === undefined || !selects(service.spec?.selector, pod)) continue;
    const guarded = new Set((sidecar.ports ?? []).map((p) => p.containerPort));
    const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].flatMap((c) => c.ports ?? []);
    for (const p of service.spec?.ports ?? []) {
      if ((p.protocol ?? "TCP") !== "TCP") continue;
      const target = p.targetPort ?? p.port;
      // A named port the Pod does not have reaches nothing: not a bypass.
      const resolved = typeof target === "number" ? target : all.find((cp) => cp.name === target)?.containerPort;
      if (resolved === undefined || guarded.has(resolved)) continue;
      out.push({ port: p.port, targetPort: resolved, pod: pod.metadata?.name ?? "" });
    }
  }
  return out;
}
