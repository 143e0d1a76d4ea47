import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration } from "../../../src/api/duration.ts";
import { compileRotationPolicy, isTimeZone, POLICY_DEFAULTS, shortestCronGap } from "../../../src/model/policy/compile.ts";
import type { PolicySource, RotationPolicySpecInput } from "../../../src/model/policy/types.ts";

const source: PolicySource = { kind: "ClusterRotationPolicy", name: "default" };
const H = 3_600_000;
const M = 60_000;

function problemsOf(spec: RotationPolicySpecInput): { field: string; message: string }[] {
  const result = compileRotationPolicy(source, spec);
  if (result.ok) throw new Error("expected the policy to be refused");
  return result.problems;
}

describe("compileRotationPolicy", () => {
  it("applies the schema's defaults to a policy that sets only its schedule", () => {
    const result = compileRotationPolicy(source, { schedule: { every: "720h" } });
    expect(result).toEqual({
      ok: true,
      policy: {
        source,
        algorithm: "EdDSA",
        schedule: { kind: "every", everyMs: 720 * H },
        prePublishMs: 5 * M,
        graceMs: 720 * H,
        defaultTokenLifetimeMs: 24 * H,
        maxTokenLifetimeMs: 720 * H,
        allowNeverExpires: false,
      },
    });
  });

  it("keeps every field a policy sets", () => {
    const result = compileRotationPolicy(source, {
      algorithm: "ES256",
      schedule: { cron: "0 3 1 * *", timeZone: "Europe/Berlin" },
      prePublish: "1h30m",
      grace: "0s",
      defaultTokenLifetime: "1h",
      maxTokenLifetime: "2h",
      allowNeverExpires: true,
    });
    expect(result.ok && result.policy).toEqual({
      source,
      algorithm: "ES256",
      schedule: { kind: "cron", expression: "0 3 1 * *", timeZone: "Europe/Berlin" },
      prePublishMs: 90 * M,
      graceMs: 0,
      defaultTokenLifetimeMs: H,
      maxTokenLifetimeMs: 2 * H,
      allowNeverExpires: true,
    });
  });

  it("evaluates cron in UTC when no time zone is given", () => {
    const result = compileRotationPolicy(source, { schedule: { cron: "0 3 * * *" } });
    expect(result.ok && result.policy.schedule).toEqual({ kind: "cron", expression: "0 3 * * *", timeZone: POLICY_DEFAULTS.timeZone });
  });

  it("refuses an unknown algorithm, naming the field and the choices", () => {
    expect(problemsOf({ algorithm: "HS256", schedule: { every: "720h" } })).toEqual([
      { field: "spec.algorithm", message: '"HS256" is not supported: use one of EdDSA, ES256, RS256' },
    ]);
  });

  it("refuses a duration it cannot read, naming the field and the format", () => {
    const [problem] = problemsOf({ schedule: { every: "720h" }, grace: "30d" });
    expect(problem?.field).toBe("spec.grace");
    expect(problem?.message).toContain('"30d" is not a duration');
    expect(problem?.message).toContain('"720h"');
  });

  it("refuses a schedule with neither every nor cron", () => {
    expect(problemsOf({ schedule: {} })).toEqual([
      { field: "spec.schedule", message: 'set exactly one of every (an interval such as "720h") or cron (such as "0 3 1 * *")' },
    ]);
  });

  it("refuses a schedule with both every and cron", () => {
    expect(problemsOf({ schedule: { every: "720h", cron: "0 3 * * *" } })[0]?.field).toBe("spec.schedule");
  });

  it("refuses an interval shorter than an hour", () => {
    const [problem] = problemsOf({ schedule: { every: "59m59s" }, prePublish: "1m" });
    expect(problem?.field).toBe("spec.schedule.every");
    expect(problem?.message).toContain("at least 1h");
  });

  it("refuses a pre-publication window as long as the interval", () => {
    const [problem] = problemsOf({ schedule: { every: "2h" }, prePublish: "2h" });
    expect(problem?.field).toBe("spec.prePublish");
    expect(problem?.message).toContain("shorten prePublish");
  });

  it("refuses a pre-publication window as long as the shortest gap between two cron times", () => {
    const [problem] = problemsOf({ schedule: { cron: "0 * * * *" }, prePublish: "1h" });
    expect(problem?.field).toBe("spec.prePublish");
    expect(problem?.message).toContain('"0 * * * *" in UTC: 1h)');
    expect(problem?.message).toContain("shorten prePublish");
  });

  it("measures cron gaps in the policy's time zone, where a daylight-saving day is 23 hours long", () => {
    expect(compileRotationPolicy(source, { schedule: { cron: "0 3 * * *", timeZone: "UTC" }, prePublish: "23h" }).ok).toBe(true);
    const [problem] = problemsOf({ schedule: { cron: "0 3 * * *", timeZone: "Europe/Berlin" }, prePublish: "23h" });
    expect(problem?.field).toBe("spec.prePublish");
    expect(problem?.message).toContain("23h)");
  });

  it("finds the shortest gap of an irregular cron schedule", () => {
    expect(shortestCronGap("0 3 1,2 * *", "UTC")).toBe(24 * H);
    expect(shortestCronGap("30 */6 * * *", "UTC")).toBe(6 * H);
  });

  it("refuses a default token lifetime above the maximum, naming both values", () => {
    expect(problemsOf({ schedule: { every: "720h" }, defaultTokenLifetime: "48h", maxTokenLifetime: "24h" })).toEqual([
      {
        field: "spec.defaultTokenLifetime",
        message: "48h exceeds spec.maxTokenLifetime (24h): shorten the default or raise the maximum",
      },
    ]);
  });

  it("refuses token lifetimes under a minute", () => {
    const fields = problemsOf({ schedule: { every: "720h" }, defaultTokenLifetime: "30s", maxTokenLifetime: "59s" }).map((p) => p.field);
    expect(fields).toEqual(["spec.defaultTokenLifetime", "spec.maxTokenLifetime"]);
  });

  it.each([
    ["0 3 * * * *", "must have 5 fields"],
    ["0  3 * * *", "must have 5 fields"],
    ["*/5 * * * *", "the minute field must be one number"],
    ["0 3 31 2 *", "is not a valid cron expression"],
    ["0 25 * * *", "is not a valid cron expression"],
  ])("refuses the cron expression %j", (expression, expected) => {
    const [problem] = problemsOf({ schedule: { cron: expression } });
    expect(problem?.field).toBe("spec.schedule.cron");
    expect(problem?.message).toContain(expected);
  });

  it("refuses a time zone that is not an IANA name", () => {
    const [problem] = problemsOf({ schedule: { cron: "0 3 * * *", timeZone: "Mars/Olympus_Mons" } });
    expect(problem?.field).toBe("spec.schedule.timeZone");
    expect(problem?.message).toContain("Europe/Berlin");
  });

  it("reports every problem of a policy at once", () => {
    const fields = problemsOf({ algorithm: "none", schedule: { every: "1x" }, grace: "-1h" }).map((p) => p.field);
    expect(fields.sort()).toEqual(["spec.algorithm", "spec.grace", "spec.schedule.every"]);
  });

  it("reads back any interval of at least an hour written as a duration", () => {
    fc.assert(
      fc.property(fc.integer({ min: 3600, max: 10 * 365 * 24 * 3600 }), (seconds) => {
        const result = compileRotationPolicy(source, { schedule: { every: formatDuration(seconds * 1000) } });
        return result.ok && result.policy.schedule.kind === "every" && result.policy.schedule.everyMs === seconds * 1000;
      }),
    );
  });
});

describe("isTimeZone", () => {
  it("knows IANA names and refuses others", () => {
    expect(isTimeZone("UTC")).toBe(true);
    expect(isTimeZone("Europe/Berlin")).toBe(true);
    expect(isTimeZone("America/New_York")).toBe(true);
    expect(isTimeZone("Berlin")).toBe(false);
    expect(isTimeZone("")).toBe(false);
  });
});
