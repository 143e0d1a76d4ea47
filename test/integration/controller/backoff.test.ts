// Back-off on a real API server: a reconcile that cannot converge yet (key
// generation failing) is retried with the key's exponential back-off, not left
// until the next resync.

import type { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningKey } from "../../../src/token/index.ts";
import { Kube, useNamespace } from "../harness/index.ts";
import { apiKeyWhen, condition, controllerIdentity, eventSeen, isTrue, OffsetClock, runController, type TestController } from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "ctl-backoff");
const clock = new OffsetClock();
let identity: KubeConfig;
let ctl: TestController;
let failuresLeft = 0;
let attempts = 0;

beforeAll(async () => {
  identity = await controllerIdentity(kube, ns.name);
  ctl = await runController(identity, ns.name, {
    clock,
    // A resync would retry too: keep it out of reach, so only back-off can.
    resyncPeriodMs: 60 * 60_000,
    mintKey: async (algorithm) => {
      attempts++;
      if (failuresLeft > 0) {
        failuresLeft--;
        throw new Error("entropy source unavailable");
      }
      return generateSigningKey(algorithm);
    },
  });
});

afterAll(async () => {
  await ctl.running.stop();
});

describe("an ApiKey whose key generation fails", () => {
  it("reports KeyGenerationFailed, retries with back-off, and gets its key once generation works again", async () => {
    failuresLeft = 5;
    await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name: "unlucky", namespace: ns.name }, spec: {} });
    await eventSeen(kube, ns.name, "unlucky", "KeyGenerationFailed");
    // 5 failures back off 100, 200, 400, 800 ms: the key comes a few seconds later, not at the next resync.
    const ready = await apiKeyWhen(kube, ns.name, "unlucky", (k) => isTrue(condition(k, "Ready")), "Ready after the failures");
    expect(condition(ready, "Ready")?.reason).toBe("KeysReady");
    expect(ready.status?.keys).toHaveLength(1);
    expect(failuresLeft).toBe(0);
    expect(attempts).toBeGreaterThanOrEqual(6);
  });
});
