import { describe, expect, it } from "vitest";
import { resolveRotationPolicy, type ResolvePolicyInput } from "../../../src/model/policy/resolve.ts";
import type { RotationPolicySpecInput } from "../../../src/model/policy/types.ts";

function input(
  ref: ResolvePolicyInput["apiKey"]["rotationPolicyRef"],
  namespaced: Record<string, RotationPolicySpecInput>,
  cluster: Record<string, RotationPolicySpecInput>,
): ResolvePolicyInput {
  return {
    apiKey: { namespace: "acme", name: "reporting", rotationPolicyRef: ref },
    getRotationPolicy: (namespace, name) => namespaced[`${namespace}/${name}`],
    getClusterRotationPolicy: (name) => cluster[name],
  };
}

const weekly: RotationPolicySpecInput = { schedule: { every: "168h" }, algorithm: "ES256" };
const monthly: RotationPolicySpecInput = { schedule: { every: "720h" } };

describe("resolveRotationPolicy", () => {
  it("uses the ClusterRotationPolicy named default when the ApiKey names none", () => {
    const result = resolveRotationPolicy(input(undefined, {}, { default: monthly }));
    expect(result.ok && result.policy.source).toEqual({ kind: "ClusterRotationPolicy", name: "default" });
  });

  it("uses the built-in defaults when the ClusterRotationPolicy default does not exist", () => {
    const result = resolveRotationPolicy(input({ kind: "ClusterRotationPolicy", name: "default" }, {}, {}));
    expect(result.ok && result.policy.source).toEqual({ kind: "BuiltIn", name: "default" });
    expect(result.ok && result.policy.schedule).toEqual({ kind: "every", everyMs: 720 * 3_600_000 });
  });

  it("compiles the built-in defaults once, however many ApiKeys use them", () => {
    const first = resolveRotationPolicy(input(undefined, {}, {}));
    const second = resolveRotationPolicy({ ...input(undefined, {}, {}), apiKey: { namespace: "other", name: "ingest", rotationPolicyRef: undefined } });
    expect(first.ok && second.ok && first.policy === second.policy).toBe(true);
  });

  it("uses the RotationPolicy of the ApiKey's own namespace that spec.rotationPolicyRef names", () => {
    const result = resolveRotationPolicy(
      input({ kind: "RotationPolicy", name: "weekly" }, { "acme/weekly": weekly, "other/weekly": monthly }, { default: monthly }),
    );
    expect(result.ok && result.policy.source).toEqual({ kind: "RotationPolicy", name: "weekly", namespace: "acme" });
    expect(result.ok && result.policy.algorithm).toBe("ES256");
  });

  it("never uses a RotationPolicy of another namespace", () => {
    const result = resolveRotationPolicy(input({ kind: "RotationPolicy", name: "weekly" }, { "other/weekly": weekly }, { default: monthly }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toBe("RotationPolicyNotFound");
    expect(!result.ok && result.message).toContain('spec.rotationPolicyRef names RotationPolicy "weekly"');
    expect(!result.ok && result.message).toContain("namespace acme");
  });

  it("reports a missing ClusterRotationPolicy other than default, naming it and the fix", () => {
    const result = resolveRotationPolicy(input({ name: "strict" }, {}, { default: monthly }));
    expect(!result.ok && result.reason).toBe("RotationPolicyNotFound");
    expect(!result.ok && result.message).toBe(
      'ApiKey acme/reporting: spec.rotationPolicyRef names ClusterRotationPolicy "strict", which does not exist: ' +
        "create it, or point spec.rotationPolicyRef at an existing ClusterRotationPolicy or at a RotationPolicy of the namespace (kind: RotationPolicy)",
    );
  });

  it("reports an invalid policy with the field that is wrong", () => {
    const result = resolveRotationPolicy(input({ kind: "RotationPolicy", name: "weekly" }, { "acme/weekly": { schedule: { every: "10m" } } }, {}));
    expect(!result.ok && result.reason).toBe("RotationPolicyInvalid");
    expect(!result.ok && result.problems.map((p) => p.field)).toEqual(["spec.schedule.every"]);
    expect(!result.ok && result.message).toMatch(/^ApiKey acme\/reporting: RotationPolicy acme\/weekly cannot be used: spec\.schedule\.every: 10m is shorter than 1h/);
  });

  it("reports an invalid default ClusterRotationPolicy instead of falling back to the built-in one", () => {
    const result = resolveRotationPolicy(input(undefined, {}, { default: { schedule: { cron: "*/5 * * * *" } } }));
    expect(!result.ok && result.reason).toBe("RotationPolicyInvalid");
    expect(!result.ok && result.message).toContain("ClusterRotationPolicy default cannot be used: spec.schedule.cron");
  });
});
