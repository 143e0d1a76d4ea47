import { describe, expect, it } from "vitest";
import { ANNOTATIONS, injectPod, InjectionError, type Container, type PodLike } from "../../src/injector/index.ts";
import { BUNDLE_CONFIGMAP, BUNDLE_SEGMENT_CONFIGMAPS, BUNDLE_SEGMENT_KEY } from "../../src/injector/sidecar.ts";
import { BUNDLE_CONFIGMAP_NAME, BUNDLE_SEGMENT_DATA_KEY, bundleSegmentNames } from "../../src/model/names.ts";
import { appPod, IMAGE } from "./fixtures.ts";

function injected(pod: PodLike): PodLike {
  const r = injectPod(pod, { image: IMAGE, what: "Pod acme/web-*" });
  if (r.kind !== "injected") throw new Error(`not injected: ${r.reason}`);
  return r.pod;
}

function sidecarOf(pod: PodLike): Container {
  const c = pod.spec.initContainers?.find((x) => x.name === "keyward-verifier");
  if (c === undefined) throw new Error("no sidecar");
  return c;
}

function refusal(pod: PodLike): InjectionError {
  try {
    injectPod(pod, { image: IMAGE, what: "Pod acme/web-*" });
  } catch (err) {
    if (err instanceof InjectionError) return err;
    throw err;
  }
  throw new Error("injected");
}

describe("injecting a Pod", () => {
  it("adds the verifier as a native sidecar (an init container that restarts always) running the controller's image", () => {
    const pod = injected(appPod());
    const c = sidecarOf(pod);
    expect(c.restartPolicy).toBe("Always");
    expect(c.image).toBe(IMAGE);
    expect(pod.spec.containers).toEqual(appPod().spec.containers);
  });

  it("starts it before the Pod's own init containers", () => {
    const pod = injected(appPod({}, { initContainers: [{ name: "migrate" }] }));
    expect(pod.spec.initContainers?.map((c) => c.name)).toEqual(["keyward-verifier", "migrate"]);
  });

  it("runs the verifier in proxy mode in front of 127.0.0.1:8080, watching the namespace's bundle ConfigMap and the trusted signing keys, by default", () => {
    expect(sidecarOf(injected(appPod())).args).toEqual([
      "verifier", "--mode", "proxy", "--listen", "0.0.0.0:8443", "--upstream", "http://127.0.0.1:8080",
      "--bundle-configmap", "$(POD_NAMESPACE)/keyward-bundle", "--bundle-trust-configmap", "keyward-system/keyward-bundle-trust",
      "--metrics-listen", "0.0.0.0:9090", "--log-level", "info",
    ]);
  });

  it("gives the verifier its Pod's namespace, name and uid from the downward API, for its bundle and its report Lease", () => {
    expect(sidecarOf(injected(appPod())).env).toEqual([
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
    ]);
  });

  it("gives a file-mode verifier the trust ConfigMap too, so it checks bundle signatures", () => {
    const args: string[] = (sidecarOf(injected(appPod({ [ANNOTATIONS.bundleSource]: "file" }))).args as string[] | undefined) ?? [];
    expect(args).toContain("--bundle-file");
    expect(args.slice(args.indexOf("--bundle-trust-configmap"), args.indexOf("--bundle-trust-configmap") + 2)).toEqual(["--bundle-trust-configmap", "keyward-system/keyward-bundle-trust"]);
    expect(args).not.toContain("--insecure-allow-unsigned-bundles");
  });

  it("has the security context, probes and resources of config/verifier, and a startup probe that holds the app back until it serves", () => {
    const c = sidecarOf(injected(appPod()));
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: "/readyz", port: "keyward-admin" } });
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "keyward-admin" } });
    expect(c.startupProbe).toMatchObject({ httpGet: { path: "/healthz", port: "keyward-admin" } });
    expect(c.resources).toEqual({ requests: { cpu: "20m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } });
    expect(c.ports).toEqual([{ name: "keyward", containerPort: 8443, protocol: "TCP" }, { name: "keyward-admin", containerPort: 9090, protocol: "TCP" }]);
  });

  it("follows the annotations: ports, mode, log level and resources", () => {
    const c = sidecarOf(injected(appPod({
      [ANNOTATIONS.upstreamPort]: "3000", [ANNOTATIONS.listenPort]: "8000", [ANNOTATIONS.logLevel]: "warn", [ANNOTATIONS.memoryLimit]: "256Mi",
    })));
    expect(c.args).toEqual(expect.arrayContaining(["0.0.0.0:8000", "http://127.0.0.1:3000", "warn"]));
    expect(c.resources).toMatchObject({ limits: { memory: "256Mi" } });
    const authz = sidecarOf(injected(appPod({ [ANNOTATIONS.mode]: "authz" })));
    expect(authz.args).not.toContain("--upstream");
  });

  it("mounts, with the file source, one projected volume of the bundle ConfigMap and each revocation segment slot's revoked.json as <slot>.json, every source optional", () => {
    const pod = injected(appPod({ [ANNOTATIONS.bundleSource]: "file" }));
    const slots = Array.from({ length: 32 }, (_, i) => `keyward-bundle-revoked-${i + 1}`);
    expect(pod.spec.volumes).toEqual([
      {
        name: "keyward-bundle",
        projected: {
          sources: [
            { configMap: { name: "keyward-bundle", optional: true } },
            ...slots.map((name) => ({ configMap: { name, optional: true, items: [{ key: "revoked.json", path: `${name}.json` }] } })),
          ],
        },
      },
    ]);
    expect(sidecarOf(pod).args).toEqual(expect.arrayContaining(["--bundle-file", "/etc/keyward/bundle"]));
    expect(sidecarOf(pod).volumeMounts).toEqual([{ name: "keyward-bundle", mountPath: "/etc/keyward/bundle", readOnly: true }]);
  });

  it("names the segment slots and their key as the controller and the verifier do", () => {
    expect(BUNDLE_SEGMENT_CONFIGMAPS).toEqual(bundleSegmentNames());
    expect(BUNDLE_SEGMENT_KEY).toBe(BUNDLE_SEGMENT_DATA_KEY);
    expect(BUNDLE_CONFIGMAP).toBe(BUNDLE_CONFIGMAP_NAME);
  });

  it("labels the Pod for the verifier's NetworkPolicy and records the image injected, keeping its own labels and annotations", () => {
    const pod = injected(appPod({ team: "a" }));
    expect(pod.metadata?.labels).toEqual({ app: "web", "keyward.dev/inject": "true", "keyward.dev/protect": "true" });
    expect(pod.metadata?.annotations).toEqual({ team: "a", "keyward.dev/injected": IMAGE });
  });

  it("leaves a Pod that already carries the sidecar as it is, however it got there", () => {
    const once = injected(appPod());
    expect(injectPod(once, { image: "other:2", what: "x" })).toEqual({ kind: "unchanged", reason: "already-injected" });
    const component = appPod();
    component.spec.containers.push({ name: "keyward-verifier" });
    expect(injectPod(component, { image: IMAGE, what: "x" })).toEqual({ kind: "unchanged", reason: "already-injected" });
  });

  it("leaves a Pod labelled keyward.dev/inject: \"false\" alone", () => {
    const pod = appPod();
    pod.metadata!.labels!["keyward.dev/inject"] = "false";
    expect(injectPod(pod, { image: IMAGE, what: "x" })).toEqual({ kind: "unchanged", reason: "opted-out" });
  });

  it("never modifies the Pod it is given", () => {
    const pod = appPod({ [ANNOTATIONS.bundleSource]: "file" }, { initContainers: [{ name: "migrate" }], volumes: [{ name: "data" }] });
    const copy = structuredClone(pod);
    injected(pod);
    expect(pod).toEqual(copy);
  });

  it("refuses a Pod whose container takes the verifier's port, naming the container and the annotation that moves it", () => {
    const err = refusal(appPod({}, { containers: [{ name: "app", ports: [{ containerPort: 8443 }] }] }));
    expect(err.code).toBe("ERR_INJECT_PORT_CONFLICT");
    expect(err.field).toBe(ANNOTATIONS.listenPort);
    expect(err.message).toContain('container "app" uses port 8443');
    expect(refusal(appPod({}, { containers: [{ name: "app", ports: [{ containerPort: 9090 }] }] })).field).toBe(ANNOTATIONS.adminPort);
  });

  it("refuses a Pod with a port named like the verifier's, or a volume named like its bundle volume", () => {
    expect(refusal(appPod({}, { containers: [{ name: "app", ports: [{ name: "keyward", containerPort: 1 }] }] })).code).toBe("ERR_INJECT_SPEC");
    expect(refusal(appPod({ [ANNOTATIONS.bundleSource]: "file" }, { volumes: [{ name: "keyward-bundle" }] })).field).toBe("spec.volumes");
  });

  it("refuses a Pod without API credentials in either bundle mode: the trusted signing keys are read through the API", () => {
    const err = refusal(appPod({}, { automountServiceAccountToken: false }));
    expect(err.field).toBe(ANNOTATIONS.bundleSource);
    expect(err.message).toContain("allow the token");
    const file = refusal(appPod({ [ANNOTATIONS.bundleSource]: "file" }, { automountServiceAccountToken: false }));
    expect(file.message).toContain("keyward-system/keyward-bundle-trust");
  });
});
