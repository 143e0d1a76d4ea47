// The JSON Patch (RFC 6902) an admission response carries: from the Pod as it came to the Pod
// injectPod made. Only the members injection changes are written, each whole ("add" replaces a
// member that exists), so the patch never depends on array positions of the original.

import type { PodLike } from "./pod.ts";

export interface PatchOperation {
  op: "add";
  path: string;
  value: unknown;
}

export function podPatch(before: PodLike, after: PodLike): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const member = (path: string, a: unknown, b: unknown): void => {
    if (b !== undefined && JSON.stringify(a) !== JSON.stringify(b)) ops.push({ op: "add", path, value: b });
  };
  member("/metadata/labels", before.metadata?.labels, after.metadata?.labels);
  member("/metadata/annotations", before.metadata?.annotations, after.metadata?.annotations);
  member("/spec/initContainers", before.spec.initContainers, after.spec.initContainers);
  member("/spec/volumes", before.spec.volumes, after.spec.volumes);
  return ops;
}
