import { describe, expect, it } from "vitest";
import { WriteCounter } from "../../src/kube/writes.ts";

describe("WriteCounter", () => {
  it("counts by verb and resource, and filters by either or by a predicate", () => {
    const w = new WriteCounter();
    w.record("patch", "apikeys.keyward.dev/status");
    w.record("patch", "apikeys.keyward.dev/status");
    w.record("update", "leases.coordination.k8s.io");
    w.record("create", "secrets");
    expect(w.count()).toBe(4);
    expect(w.count({ verb: "patch" })).toBe(2);
    expect(w.count({ resource: "secrets" })).toBe(1);
    expect(w.count((_verb, resource) => !resource.startsWith("leases"))).toBe(3);
  });

  it("tells listeners about each write until they unsubscribe, and survives a listener that throws", () => {
    const w = new WriteCounter();
    const seen: string[] = [];
    w.onWrite(() => {
      throw new Error("broken listener");
    });
    const off = w.onWrite((verb, resource) => seen.push(`${verb} ${resource}`));
    w.record("delete", "secrets");
    off();
    w.record("delete", "secrets");
    expect(seen).toEqual(["delete secrets"]);
    expect(w.count()).toBe(2);
  });
});
