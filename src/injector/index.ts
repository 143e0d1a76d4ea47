// Sidecar injection: the verifier added to a Pod as a native sidecar, its settings read from
// the Pod's annotations. Pure; used by the admission webhook (src/webhook) and by
// `kubectl keyward inject`.

export { ANNOTATIONS, DEFAULT_SETTINGS, INJECT_ENABLED, INJECT_LABEL, INJECTED_ANNOTATION, parseSettings, PROTECT_LABEL } from "./annotations.ts";
export type { SidecarSettings } from "./annotations.ts";
export { InjectionError, InjectionErrorCodes } from "./errors.ts";
export type { InjectionErrorCode } from "./errors.ts";
export { injectPod } from "./inject.ts";
export type { InjectOptions, InjectResult } from "./inject.ts";
export { injectManifest } from "./manifests.ts";
export type { ManifestResult } from "./manifests.ts";
export { podPatch } from "./patch.ts";
export type { PatchOperation } from "./patch.ts";
export type { Container, PodLike, PodSpec } from "./pod.ts";
export { ADMIN_PORT_NAME, BUNDLE_CONFIGMAP, LISTEN_PORT_NAME, SIDECAR_NAME, sidecarContainer } from "./sidecar.ts";
export { bypasses } from "./bypass.ts";
export type { Bypass, ServiceLike } from "./bypass.ts";
