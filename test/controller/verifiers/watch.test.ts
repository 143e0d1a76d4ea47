import { describe, expect, it } from "vitest";
import { reportChanged } from "../../../src/controller/verifiers/watch.ts";
import type { LeaseObject } from "../../../src/model/verifier-report.ts";

function lease(generation: string | undefined, renewTime: string | undefined): LeaseObject {
  return {
    metadata: { name: "keyward-verifier.web-0", namespace: "acme", ...(generation === undefined ? {} : { annotations: { "keyward.dev/generation": generation } }) },
    spec: renewTime === undefined ? {} : { renewTime },
  };
}

describe("reportChanged", () => {
  it("passes a report that came or went, or that enforces another generation", () => {
    expect(reportChanged("add", lease("1", "2026-12-01T12:00:00.000000Z"))).toBe(true);
    expect(reportChanged("delete", lease("1", "2026-12-01T12:00:00.000000Z"))).toBe(true);
    expect(reportChanged("update", lease("2", "2026-12-01T12:00:01.000000Z"), lease("1", "2026-12-01T12:00:00.000000Z"))).toBe(true);
  });

  it("lets a heartbeat alone through to nobody", () => {
    expect(reportChanged("update", lease("1", "2026-12-01T12:01:00.000000Z"), lease("1", "2026-12-01T12:00:00.000000Z"))).toBe(false);
  });
});
