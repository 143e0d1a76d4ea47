import { describe, expect, it } from "vitest";
import { injectPod, podPatch, type PodLike } from "../../src/injector/index.ts";
import { appPod, IMAGE } from "./fixtures.ts";

/** RFC 6902 "add" of whole members, as the API server applies it. */
function apply(pod: PodLike, ops: ReturnType<typeof podPatch>): PodLike {
  const out = structuredClone(pod) as unknown as Record<string, Record<string, unknown>>;
  for (const op of ops) {
    const [, top, member] = op.path.split("/");
    out[top!] ??= {};
    out[top!]![member!] = op.value;
  }
  return out as unknown as PodLike;
}

describe("the admission patch", () => {
  it("turns the Pod as it came into the Pod injection made", () => {
    for (const pod of [appPod(), appPod({ "keyward.dev/bundle-source": "file" }, { initContainers: [{ name: "x" }], volumes: [{ name: "v" }] })]) {
      const r = injectPod(pod, { image: IMAGE, what: "x" });
      if (r.kind !== "injected") throw new Error("not injected");
      expect(apply(pod, podPatch(pod, r.pod))).toEqual(r.pod);
    }
  });

  it("writes only what changed", () => {
    const pod = appPod();
    const r = injectPod(pod, { image: IMAGE, what: "x" });
    if (r.kind !== "injected") throw new Error("not injected");
    expect(podPatch(pod, r.pod).map((o) => o.path)).toEqual(["/metadata/labels", "/metadata/annotations", "/spec/initContainers"]);
    expect(podPatch(pod, pod)).toEqual([]);
  });
});
