import type { PodLike } from "../../src/injector/index.ts";

export const IMAGE = "ghcr.io/keyward/keyward:0.1.0";

/** An app Pod opted in, listening on 8080, with the given annotations. */
export function appPod(annotations: Record<string, string> = {}, extra: Partial<PodLike["spec"]> = {}): PodLike {
  return {
    metadata: { generateName: "web-", namespace: "acme", labels: { app: "web", "keyward.dev/inject": "true" }, annotations },
    spec: { containers: [{ name: "app", image: "echo:1", ports: [{ containerPort: 8080 }] }], ...extra },
  };
}
