import { describe, expect, it } from "vitest";
import { isConditionReason, newsworthy } from "../../../src/controller/controllers/events.ts";
import { eventOf } from "../../../src/model/reasons.ts";
import type { Condition } from "../../../src/model/conditions.ts";

const ready = (reason: string, message: string): Condition => ({ type: "Ready", status: "False", reason, message, lastTransitionTime: "2026-01-01T00:00:00Z" });

describe("newsworthy", () => {
  it("records an action every time it happens", () => {
    const events = [eventOf("TokenRenewed", "renewed"), eventOf("RotationStarted", "started")];
    expect(newsworthy(events, [ready("Issued", "renewed")])).toEqual(events);
  });

  it("records a condition's Event only when the condition is new or says something new", () => {
    const missing = eventOf("ApiKeyNotFound", "AccessToken ns/t: spec.apiKeyName names ApiKey \"k\", which does not exist");
    expect(newsworthy([missing], undefined)).toEqual([missing]);
    expect(newsworthy([missing], [ready("ApiKeyNotFound", missing.message)])).toEqual([]);
    expect(newsworthy([missing], [ready("ApiKeyNotFound", "an older message")])).toEqual([missing]);
  });

  it("drops repeats within one reconcile", () => {
    const e = eventOf("DeposedKeyExpired", "gone");
    expect(newsworthy([e, e], [])).toEqual([e]);
  });

  it("tells condition reasons from action reasons", () => {
    expect(isConditionReason("RotationPolicyNotFound")).toBe(true);
    expect(isConditionReason("RotationStarted")).toBe(false);
  });
});
