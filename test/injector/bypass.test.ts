import { describe, expect, it } from "vitest";
import { bypasses, injectPod, type PodLike, type ServiceLike } from "../../src/injector/index.ts";
import { appPod, IMAGE } from "./fixtures.ts";

function injected(name: string): PodLike {
  const r = injectPod(appPod(), { image: IMAGE, what: "x" });
  if (r.kind !== "injected") throw new Error("not injected");
  return { ...r.pod, metadata: { ...r.pod.metadata, name } };
}

function service(targetPort: number | string | undefined, selector: Record<string, string> = { app: "web" }): ServiceLike {
  return { metadata: { name: "web", namespace: "acme" }, spec: { selector, ports: [{ name: "http", port: 80, ...(targetPort === undefined ? {} : { targetPort }) }] } };
}

describe("a Service in front of an injected workload", () => {
  it("bypasses the verifier when its targetPort reaches the app, by number or by name", () => {
    expect(bypasses(service(8080), [injected("web-1")])).toEqual([{ port: 80, targetPort: 8080, pod: "web-1" }]);
    const named = injected("web-2");
    named.spec.containers[0]!.ports = [{ name: "http", containerPort: 8080 }];
    expect(bypasses(service("http"), [named])).toEqual([{ port: 80, targetPort: 8080, pod: "web-2" }]);
  });

  it("defaults the targetPort to the port, as Kubernetes does", () => {
    const s = service(undefined);
    s.spec!.ports![0]!.port = 8080;
    expect(bypasses(s, [injected("web-1")])).toHaveLength(1);
  });

  it("does not bypass it when it targets the verifier's port, by name or number", () => {
    expect(bypasses(service("keyward"), [injected("web-1")])).toEqual([]);
    expect(bypasses(service(8443), [injected("web-1")])).toEqual([]);
  });

  it("concerns only the injected Pods it selects", () => {
    expect(bypasses(service(8080, { app: "other" }), [injected("web-1")])).toEqual([]);
    expect(bypasses(service(8080), [{ ...appPod(), metadata: { name: "plain", labels: { app: "web" } } }])).toEqual([]);
    expect(bypasses(service(8080, {}), [injected("web-1")])).toEqual([]);
  });
});
