import { describe, expect, it } from "vitest";
import { VerifierMetrics } from "../../src/verifier/metrics.ts";

async function decisionLines(m: VerifierMetrics): Promise<string[]> {
  return (await m.registry.metrics()).split("\n").filter((l) => l.startsWith("keyward_verifier_decisions_total{"));
}

describe("VerifierMetrics decision counts", () => {
  it("show counted decisions by result and code when scraped", async () => {
    const m = new VerifierMetrics(() => null);
    m.countDecision("allow", "OK");
    m.countDecision("allow", "OK");
    m.countDecision("deny", "ERR_TOKEN_EXPIRED");
    m.countDecision("unavailable", "ERR_NO_BUNDLE");
    expect(await decisionLines(m)).toEqual([
      'keyward_verifier_decisions_total{result="allow",code="OK"} 2',
      'keyward_verifier_decisions_total{result="deny",code="ERR_TOKEN_EXPIRED"} 1',
      'keyward_verifier_decisions_total{result="unavailable",code="ERR_NO_BUNDLE"} 1',
    ]);
  });

  it("count each decision once across scrapes, and keep counting after one", async () => {
    const m = new VerifierMetrics(() => null);
    m.countDecision("deny", "ERR_POLICY_DENIED");
    await m.registry.metrics();
    expect(await decisionLines(m)).toEqual(['keyward_verifier_decisions_total{result="deny",code="ERR_POLICY_DENIED"} 1']);
    m.countDecision("deny", "ERR_POLICY_DENIED");
    expect(await decisionLines(m)).toEqual(['keyward_verifier_decisions_total{result="deny",code="ERR_POLICY_DENIED"} 2']);
  });
});
