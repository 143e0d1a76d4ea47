// The one code path of injection, shared by the admission webhook (a Pod) and
// `kubectl keyward inject` (the Pod template of a workload): given the Pod's metadata and spec,
// the same metadata and spec with the verifier sidecar, or the reason it cannot have one.
// Pure: no I/O, the input is never modified.

import { INJECT_ENABLED, INJECT_LABEL, INJECTED_ANNOTATION, parseSettings, PROTECT_LABEL, ANNOTATIONS } from "./annotations.ts";
import { InjectionError } from "./errors.ts";
import type { Container, PodLike } from "./pod.ts";
import { ADMIN_PORT_NAME, BUNDLE_VOLUME, bundleVolume, LISTEN_PORT_NAME, SIDECAR_NAME, sidecarContainer, TRUST_CONFIGMAP } from "./sidecar.ts";

export interface InjectOptions {
  /** The verifier image: the controller's own, so the two never skew. */
  image: string;
  /** Names the Pod in messages, e.g. `Pod acme/web-` or `Deployment acme/web`. */
  what: string;
  /** NAMESPACE/NAME of the trust ConfigMap (the controller's system namespace); default keyward-system/keyward-bundle-trust. */
  trustConfigMap?: string;
}

export type InjectResult =
  | { kind: "injected"; pod: PodLike }
  /** Already carries the sidecar, or opted out: left as it is. */
  | { kind: "unchanged"; reason: "already-injected" | "opted-out" };

/** The Pod with the sidecar. Throws InjectionError (the annotation or field at fault, and the fix). */
export function injectPod(pod: PodLike, options: InjectOptions): InjectResult {
  const labels = pod.metadata?.labels ?? {};
  if (labels[INJECT_LABEL] !== undefined && labels[INJECT_LABEL] !== INJECT_ENABLED) return { kind: "unchanged", reason: "opted-out" };
  const all: Container[] = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  if (all.some((c) => c.name === SIDECAR_NAME)) return { kind: "unchanged", reason: "already-injected" };

  const { what } = options;
  const settings = parseSettings(pod.metadata?.annotations, what);
  for (const c of all) {
    for (const p of c.ports ?? []) {
      if ((p.protocol ?? "TCP") !== "TCP") continue;
      for (const [port, annotation] of [[settings.listenPort, ANNOTATIONS.listenPort], [settings.adminPort, ANNOTATIONS.adminPort]] as const) {
        if (p.containerPort === port) {
          throw new InjectionError("ERR_INJECT_PORT_CONFLICT", annotation, `${what}: container "${c.name}" uses port ${port}, which the keyward verifier needs; set the annotation ${annotation} to a free port`);
        }
      }
      if (p.name === LISTEN_PORT_NAME || p.name === ADMIN_PORT_NAME) {
        throw new InjectionError("ERR_INJECT_SPEC", "spec.containers[].ports[].name", `${what}: container "${c.name}" has a port named "${p.name}", a name the keyward verifier's port takes; rename that port`);
      }
    }
  }
  if (settings.bundleSource === "file" && (pod.spec.volumes ?? []).some((v) => v.name === BUNDLE_VOLUME)) {
    throw new InjectionError("ERR_INJECT_SPEC", "spec.volumes", `${what}: a volume is already named "${BUNDLE_VOLUME}", the name of the verifier's bundle volume; rename that volume`);
  }
  if (pod.spec.automountServiceAccountToken === false) {
    throw new InjectionError(
      "ERR_INJECT_SPEC",
      ANNOTATIONS.bundleSource,
      settings.bundleSource === "configmap"
        ? `${what}: spec.automountServiceAccountToken is false, so the verifier cannot watch the bundle ConfigMap nor the trusted bundle-signing keys; allow the token`
        : `${what}: spec.automountServiceAccountToken is false, so the verifier cannot read the trusted bundle-signing keys (ConfigMap ${TRUST_CONFIGMAP}, which no Pod can mount from another namespace); allow the token`,
    );
  }

  const sidecar = sidecarContainer(settings, options.image, options.trustConfigMap);
  const spec = {
    ...pod.spec,
    // First: it starts before any other init container, whose traffic it may have to check too.
    initContainers: [sidecar, ...(pod.spec.initContainers ?? [])],
  };
  if (settings.bundleSource === "file") spec.volumes = [...(pod.spec.volumes ?? []), bundleVolume()];
  const metadata = {
    ...pod.metadata,
    labels: { ...labels, [PROTECT_LABEL]: "true" },
    annotations: { ...(pod.metadata?.annotations ?? {}), [INJECTED_ANNOTATION]: options.image },
  };
  return { kind: "injected", pod: { metadata, spec } };
}
