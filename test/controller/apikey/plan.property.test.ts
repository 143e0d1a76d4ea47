import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSigningKeys, serializeSigningKeys, type SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import { planKeys, type ApiKeyRequests, type ApiKeyStatusInput } from "../../../src/controller/apikey/plan.ts";
import type { ResolvedRotationPolicy } from "../../../src/model/policy/types.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import { APIKEY, H, M, T0, longPrePublish, policyOf } from "./fixtures.ts";

const PRIVATE_MEMBERS = new Set(["d", "p", "q", "dp", "dq", "qi", "oth", "k"]);

function privateMembersIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(privateMembersIn);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => (PRIVATE_MEMBERS.has(k) ? [k] : privateMembersIn(v)));
}

const policies: ResolvedRotationPolicy[] = [
  policyOf(),
  policyOf({ prePublish: "0s", grace: "0s", schedule: { every: "1h" } }),
  policyOf({ grace: "2h", schedule: { every: "3h" }, prePublish: "30m" }),
  longPrePublish({ schedule: { cron: "0 * * * *", timeZone: "Europe/Berlin" }, grace: "1h" }, 3 * H),
];

type Op =
  | { kind: "advance"; ms: number }
  | { kind: "request"; field: "rotate" | "dropDeposed" | "revokeAll"; value: string }
  | { kind: "cutoff"; backMs: number }
  | { kind: "loseSecret" }
  | { kind: "loseStatus" }
  | { kind: "stopBeforeStatus" }
  | { kind: "policy"; index: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 800 * H }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 10 * M }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("request" as const),
      field: fc.constantFrom("rotate" as const, "dropDeposed" as const, "revokeAll" as const),
      value: fc.constantFrom("", "a", "b", "c"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("cutoff" as const), backMs: fc.integer({ min: -H, max: 100 * H }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "loseSecret" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "loseStatus" as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: "stopBeforeStatus" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("policy" as const), index: fc.integer({ min: 0, max: policies.length - 1 }) }) },
);

describe("planKeys, whatever happens", () => {
  it("never holds more than three keys or two active ones, never puts private members in status, and settles", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        let now = T0.getTime();
        let document: SigningKeyDocument | null = null;
        let status: ApiKeyStatusInput = {};
        let spec: ApiKeyRequests = {};
        let policy = policies[0]!;
        let stop = false;
        for (const o of ops) {
          switch (o.kind) {
            case "advance":
              now += o.ms;
              break;
            case "request":
              spec = { ...spec, [o.field]: o.value };
              break;
            case "cutoff":
              spec = { ...spec, revokeIssuedBefore: new Date(now - o.backMs).toISOString() };
              break;
            case "loseSecret":
              document = null;
              break;
            case "loseStatus":
              status = {};
              break;
            case "stopBeforeStatus":
              stop = true;
              break;
            case "policy":
              policy = policies[o.index]!;
              break;
          }
          const input = { now: new Date(now), apiKey: APIKEY, policy, spec, mintKey: generateSigningKey };
          const plan = await planKeys({ ...input, current: document, status });
          const states = plan.keys.map((k) => k.state);
          expect(plan.keys.length).toBeLessThanOrEqual(3);
          expect(states.filter((s) => s === "active")).toHaveLength(1);
          expect(states.filter((s) => s === "prepared").length).toBeLessThanOrEqual(1);
          expect(states.filter((s) => s === "deposed").length).toBeLessThanOrEqual(1);
          expect(privateMembersIn(plan.status)).toEqual([]);
          expect(privateMembersIn(plan.actions)).toEqual([]);
          for (const key of plan.keys) expect(JSON.stringify(plan.events)).not.toContain(key.jwk.d);
          expect(plan.status.keys.map((k) => k.kid)).toEqual(plan.keys.map((k) => k.jwk.kid));
          expect(plan.nextWakeAt.getTime()).toBeGreaterThan(Math.floor(now / 1000) * 1000);

          if (plan.secretChanged) document = parseSigningKeys(serializeSigningKeys(plan.document));
          if (!stop) status = plan.status;
          stop = false;

          // Level-based: the same instant, planned again on what was written, changes nothing.
          const again = await planKeys({ ...input, current: document, status });
          expect(again.secretChanged).toBe(false);
          expect(again.actions).toEqual([]);
          expect(again.events).toEqual([]);
        }
      }),
      { numRuns: 150 },
    );
  });
});
