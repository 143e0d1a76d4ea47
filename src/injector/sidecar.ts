// The verifier as a native sidecar: an init container with restartPolicy Always (Kubernetes
// 1.29 and later), so the kubelet starts it, and waits for its startup probe, before the app's
// containers, and stops it after them. Security context, probes and resources are those of
// config/verifier/sidecar.yaml; the settings come from the Pod's annotations.

import type { SidecarSettings } from "./annotations.ts";
import type { Container, Volume } from "./pod.ts";

export const SIDECAR_NAME = "keyward-verifier";
export const BUNDLE_VOLUME = "keyward-bundle";
export const BUNDLE_CONFIGMAP = "keyward-bundle";
export const BUNDLE_MOUNT_PATH = "/etc/keyward/bundle";
/**
 * The revocation segment slots a bundle may name, keyward-bundle-revoked-1 to -32, and the key
 * of each: the names of src/model/names.ts (the injector imports no other part of keyward; a
 * test keeps them equal).
 */
export const BUNDLE_SEGMENT_CONFIGMAPS: readonly string[] = Array.from({ length: 32 }, (_, i) => `keyward-bundle-revoked-${i + 1}`);
export const BUNDLE_SEGMENT_KEY = "revoked.json";
/**
 * The trusted bundle-signing keys: the ConfigMap the controller publishes in keyward's own
 * namespace, read through the API in both bundle modes (a Pod cannot mount a ConfigMap of
 * another namespace). config/default lets every service account read it, and only it.
 */
export const TRUST_CONFIGMAP = "keyward-system/keyward-bundle-trust";
/** Port names: a Service's targetPort names the verifier's. */
export const LISTEN_PORT_NAME = "keyward";
export const ADMIN_PORT_NAME = "keyward-admin";

export function sidecarContainer(settings: SidecarSettings, image: string, trustConfigMap: string = TRUST_CONFIGMAP): Container {
  const args = ["verifier", "--mode", settings.mode, "--listen", `0.0.0.0:${settings.listenPort}`];
  if (settings.mode === "proxy") args.push("--upstream", `http://127.0.0.1:${settings.upstreamPort}`);
  if (settings.bundleSource === "configmap") args.push("--bundle-configmap", `$(POD_NAMESPACE)/${BUNDLE_CONFIGMAP}`);
  else args.push("--bundle-file", BUNDLE_MOUNT_PATH);
  args.push("--bundle-trust-configmap", trustConfigMap);
  args.push("--metrics-listen", `0.0.0.0:${settings.adminPort}`, "--log-level", settings.logLevel);
  const container: Container = {
    name: SIDECAR_NAME,
    image,
    imagePullPolicy: "IfNotPresent",
    // A native sidecar: runs for the Pod's whole life, started before the app's containers.
    restartPolicy: "Always",
    args,
    env: [
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      // The verifier report (configmap mode): its Lease is named after the Pod and owned by it.
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
    ],
    ports: [
      { name: LISTEN_PORT_NAME, containerPort: settings.listenPort, protocol: "TCP" },
      { name: ADMIN_PORT_NAME, containerPort: settings.adminPort, protocol: "TCP" },
    ],
    // The app starts once the verifier serves (the kubelet waits for a sidecar's startup probe).
    startupProbe: { httpGet: { path: "/healthz", port: ADMIN_PORT_NAME }, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 30 },
    // Ready once a bundle has loaded: until then every request would be answered 503.
    readinessProbe: { httpGet: { path: "/readyz", port: ADMIN_PORT_NAME }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
    livenessProbe: { httpGet: { path: "/healthz", port: ADMIN_PORT_NAME }, initialDelaySeconds: 10, periodSeconds: 20, timeoutSeconds: 2, failureThreshold: 3 },
    resources: {
      requests: { cpu: settings.cpuRequest, memory: settings.memoryRequest },
      limits: { cpu: settings.cpuLimit, memory: settings.memoryLimit },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
  if (settings.bundleSource === "file") container.volumeMounts = [{ name: BUNDLE_VOLUME, mountPath: BUNDLE_MOUNT_PATH, readOnly: true }];
  return container;
}

/**
 * File mode: one projected volume holding the bundle ConfigMap's keys (bundle.json, jwks.json,
 * bundle.jws) and, as `<name>.json`, the revoked.json of each revocation segment slot
 * (keyward-bundle-revoked-1 to -32), so the kubelet writes the head and its segments in one
 * update the verifier reads through one `..data` directory. Every source is optional: the Pod
 * starts before the first bundle exists, and a slot exists only while the controller uses it.
 */
export function bundleVolume(): Volume {
  const segments = BUNDLE_SEGMENT_CONFIGMAPS.map((name) => ({
    configMap: { name, optional: true, items: [{ key: BUNDLE_SEGMENT_KEY, path: `${name}.json` }] },
  }));
  return { name: BUNDLE_VOLUME, projected: { sources: [{ configMap: { name: BUNDLE_CONFIGMAP, optional: true } }, ...segments] } };
}
