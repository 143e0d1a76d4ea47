import { beforeAll, describe, expect, it } from "vitest";
import { signingKeySecretName } from "../../../src/model/signing-key/location.ts";
import type { KeyPlan } from "../../../src/controller/apikey/plan.ts";
import type { SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import { APIKEY, H, KeyPool, M, SimulatedApiKey, T0, at, longPrePublish, policyOf } from "./fixtures.ts";

let keys: KeyPool;
beforeAll(async () => {
  keys = await KeyPool.create(24);
});

/** A fresh simulated ApiKey; kid(n) is the n-th key it mints. */
function fresh(policy = policyOf()): { sim: SimulatedApiKey; kid: (n: number) => string } {
  const pool = keys.restart();
  return {
    sim: new SimulatedApiKey(policy, pool),
    kid: (n) => {
      const k = pool.kids[n];
      if (k === undefined) throw new Error(`key ${n} was not minted`);
      return k;
    },
  };
}

/** The keys of a document as [kid, state] pairs, in document order. */
function states(doc: SigningKeyDocument | null): [string, string][] {
  return (doc?.keys ?? []).map((k) => [k.jwk.kid, k.state]);
}

function iso(d: Date): string {
  return d.toISOString().replace(".000Z", "Z");
}

function expectQuiet(plan: KeyPlan): void {
  expect(plan.secretChanged).toBe(false);
  expect(plan.actions).toEqual([]);
  expect(plan.events).toEqual([]);
}

describe("planKeys walks the key lifecycle", () => {
  it("mints one active key on the first reconcile and schedules the next rotation from it", async () => {
    const { sim, kid } = fresh();
    const plan = await sim.reconcile(T0);
    expect(states(sim.document)).toEqual([[kid(0), "active"]]);
    expect(plan.keys[0]).toMatchObject({ createdAt: iso(T0), activatesAt: iso(T0), notAfter: null });
    expect(plan.secretChanged).toBe(true);
    expect(plan.actions).toEqual([{ type: "mint", kid: kid(0), state: "active", activatesAt: iso(T0) }]);
    // The first key is routine: Ready reports it, no Event does.
    expect(plan.events).toEqual([]);
    expect(plan.status).toMatchObject({
      activeKid: kid(0),
      lastRotationTime: iso(T0),
      nextRotationTime: iso(at(720 * H)),
      secretName: signingKeySecretName("acme", "reporting"),
    });
    expect(plan.nextWakeAt).toEqual(at(720 * H));
  });

  it("takes a key from prepared to active to deposed to gone, at most three keys at a time", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);

    expectQuiet(await sim.reconcile(at(720 * H - 1000)));
    expect(states(sim.document)).toEqual([[kid(0), "active"]]);

    // The schedule falls due: a prepared key is published, it signs after prePublish.
    let plan = await sim.reconcile(at(720 * H));
    expect(states(sim.document)).toEqual([
      [kid(1), "prepared"],
      [kid(0), "active"],
    ]);
    expect(plan.keys[0]?.activatesAt).toBe(iso(at(720 * H + 5 * M)));
    expect(plan.events.map((e) => e.reason)).toEqual(["RotationStarted"]);
    expect(plan.status.nextRotationTime).toBe(iso(at(1440 * H)));
    expect(plan.nextWakeAt).toEqual(at(720 * H + 5 * M));
    expect(plan.status.keys).toEqual([
      { kid: kid(1), algorithm: "EdDSA", state: "prepared", createdAt: iso(at(720 * H)), activatesAt: iso(at(720 * H + 5 * M)) },
      { kid: kid(0), algorithm: "EdDSA", state: "active", createdAt: iso(T0) },
    ]);

    expectQuiet(await sim.reconcile(at(720 * H + 5 * M - 1000)));

    // prePublish has passed: the new key signs, the old one is deposed for the grace window.
    plan = await sim.reconcile(at(720 * H + 5 * M));
    expect(states(sim.document)).toEqual([
      [kid(1), "active"],
      [kid(0), "deposed"],
    ]);
    expect(plan.keys[1]?.notAfter).toBe(iso(at(1440 * H + 5 * M)));
    expect(plan.actions).toEqual([
      { type: "depose", kid: kid(0), notAfter: iso(at(1440 * H + 5 * M)) },
      { type: "activate", kid: kid(1), at: iso(at(720 * H + 5 * M)), reason: "PrePublishElapsed", verifiers: 0 },
    ]);
    expect(plan.events.map((e) => e.reason)).toEqual(["KeyActivated"]);
    expect(plan.status.activeKid).toBe(kid(1));
    expect(plan.nextWakeAt).toEqual(at(1440 * H));

    // The next rotation: three keys, the most there ever are.
    await sim.reconcile(at(1440 * H));
    expect(states(sim.document)).toEqual([
      [kid(2), "prepared"],
      [kid(1), "active"],
      [kid(0), "deposed"],
    ]);

    // Its activation deposes the active key and drops the older deposed one.
    plan = await sim.reconcile(at(1440 * H + 5 * M));
    expect(states(sim.document)).toEqual([
      [kid(2), "active"],
      [kid(1), "deposed"],
    ]);
    expect(plan.actions).toContainEqual({ type: "drop", kid: kid(0), cause: "superseded" });
    expect(plan.events.map((e) => e.reason)).toEqual(["DeposedKeyExpired", "KeyActivated"]);
  });

  it("drops a deposed key when its grace window ends", async () => {
    const { sim, kid } = fresh(policyOf({ grace: "24h" }));
    await sim.reconcile(T0);
    await sim.reconcile(at(720 * H));
    const activation = await sim.reconcile(at(720 * H + 5 * M));
    expect(activation.nextWakeAt).toEqual(at(744 * H + 5 * M));

    expectQuiet(await sim.reconcile(at(744 * H + 5 * M - 1000)));
    const plan = await sim.reconcile(at(744 * H + 5 * M));
    expect(states(sim.document)).toEqual([[kid(1), "active"]]);
    expect(plan.actions).toEqual([{ type: "drop", kid: kid(0), cause: "graceOver" }]);
    expect(plan.events.map((e) => [e.type, e.reason])).toEqual([["Normal", "DeposedKeyExpired"]]);
    expect(plan.nextWakeAt).toEqual(at(1440 * H));
  });

  it("activates a new key at once when prePublish is 0s", async () => {
    const { sim, kid } = fresh(policyOf({ prePublish: "0s" }));
    await sim.reconcile(T0);
    const plan = await sim.reconcile(at(720 * H));
    expect(states(sim.document)).toEqual([
      [kid(1), "active"],
      [kid(0), "deposed"],
    ]);
    expect(plan.events.map((e) => e.reason)).toEqual(["RotationStarted", "KeyActivated"]);
  });

  it("drops the previous key at activation when grace is 0s", async () => {
    const { sim, kid } = fresh(policyOf({ grace: "0s" }));
    await sim.reconcile(T0);
    await sim.reconcile(at(720 * H));
    await sim.reconcile(at(720 * H + 5 * M));
    expect(states(sim.document)).toEqual([[kid(1), "active"]]);
  });

  it("takes activation and grace times from the keys, not from when the reconcile runs", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    await sim.reconcile(at(720 * H));
    // The controller was away for two hours past the activation time.
    const plan = await sim.reconcile(at(722 * H));
    expect(states(sim.document)).toEqual([
      [kid(1), "active"],
      [kid(0), "deposed"],
    ]);
    expect(plan.keys[1]?.notAfter).toBe(iso(at(720 * H + 5 * M + 720 * H)));
  });

  it("applies activation and the end of grace together when a reconcile comes after both", async () => {
    const { sim, kid } = fresh(policyOf({ grace: "1h" }));
    await sim.reconcile(T0);
    await sim.reconcile(at(720 * H));
    const plan = await sim.reconcile(at(723 * H));
    expect(states(sim.document)).toEqual([[kid(1), "active"]]);
    expect(plan.actions.map((a) => a.type)).toEqual(["depose", "activate", "drop"]);
  });

  it("rotates once, not once per missed interval, after a long absence", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    const late = at(3 * 720 * H + 7 * H);
    const plan = await sim.reconcile(late);
    expect(plan.actions.filter((a) => a.type === "mint")).toHaveLength(1);
    expect(states(sim.document)).toEqual([
      [kid(1), "prepared"],
      [kid(0), "active"],
    ]);
    expect(plan.status.lastRotationTime).toBe(iso(late));
    expect(plan.status.nextRotationTime).toBe(iso(new Date(late.getTime() + 720 * H)));
  });

  it("uses the policy's algorithm for new keys and keeps older keys' algorithms", async () => {
    const pool = await KeyPool.create(1, "ES256");
    const sim = new SimulatedApiKey(policyOf({ algorithm: "ES256" }), pool);
    const plan = await sim.reconcile(T0);
    expect(plan.status.keys[0]?.algorithm).toBe("ES256");
    expect(plan.keys[0]?.jwk.kty).toBe("EC");
  });

  it("follows a cron schedule in its time zone", async () => {
    const { sim } = fresh(policyOf({ schedule: { cron: "0 3 1 * *", timeZone: "Europe/Berlin" } }));
    const plan = await sim.reconcile(new Date("2026-03-15T10:00:00Z"));
    expect(plan.status.nextRotationTime).toBe("2026-04-01T01:00:00Z");
    const rotation = await sim.reconcile(new Date("2026-04-01T01:00:00Z"));
    expect(rotation.events.map((e) => e.reason)).toEqual(["RotationStarted"]);
    expect(rotation.status.nextRotationTime).toBe("2026-05-01T01:00:00Z");
  });

  it("coalesces a cron rotation that falls due while a key is still prepared", async () => {
    // Hourly rotations with a two-hour pre-publication window.
    const { sim, kid } = fresh(longPrePublish({ schedule: { cron: "0 * * * *" } }, 2 * H));
    await sim.reconcile(T0);
    await sim.reconcile(at(H));
    const plan = await sim.reconcile(at(2 * H));
    expect(states(sim.document)).toEqual([
      [kid(1), "prepared"],
      [kid(0), "active"],
    ]);
    expect(plan.events.map((e) => e.reason)).toEqual(["RotationInProgress"]);
    expect(plan.nextWakeAt).toEqual(at(3 * H));
  });

  it("works in whole seconds whatever the milliseconds of now", async () => {
    const { sim } = fresh();
    const plan = await sim.reconcile(new Date(T0.getTime() + 999));
    expect(plan.status.lastRotationTime).toBe(iso(T0));
  });
});

describe("planKeys acts on each request value once", () => {
  it("rotates once for a new spec.rotate value and records the value", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    sim.spec = { rotate: "2026-01-10" };
    const plan = await sim.reconcile(at(216 * H));
    expect(states(sim.document)).toEqual([
      [kid(1), "prepared"],
      [kid(0), "active"],
    ]);
    expect(plan.status.observedRequests).toEqual({ rotate: "2026-01-10" });
    expect(plan.events[0]?.message).toContain('spec.rotate "2026-01-10" started a rotation');
    // The schedule counts from the requested rotation.
    expect(plan.status.nextRotationTime).toBe(iso(at(936 * H)));
  });

  it("does nothing more for a rotate value already acted on, at once, later or after the status is lost", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.spec = { rotate: "a" };
    await sim.reconcile(at(H));
    expectQuiet(await sim.reconcile(at(H)));
    await sim.reconcile(at(2 * H)); // activation
    expectQuiet(await sim.reconcile(at(3 * H)));
    sim.status = {};
    expectQuiet(await sim.reconcile(at(4 * H)));
    expect(sim.pool.minted).toBe(2);
  });

  it("rotates again for the next new rotate value, dropping the older deposed key", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    sim.spec = { rotate: "1" };
    await sim.reconcile(at(H));
    await sim.reconcile(at(2 * H));
    sim.spec = { rotate: "2" };
    await sim.reconcile(at(3 * H));
    await sim.reconcile(at(4 * H));
    expect(states(sim.document)).toEqual([
      [kid(2), "active"],
      [kid(1), "deposed"],
    ]);
  });

  it("ignores an empty request value", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.spec = { rotate: "", dropDeposed: "", revokeAll: "" };
    expectQuiet(await sim.reconcile(at(H)));
  });

  it("adopts the request values an ApiKey is created with, without acting on them", async () => {
    const { sim, kid } = fresh();
    sim.spec = { rotate: "r0", dropDeposed: "d0", revokeAll: "x0" };
    const plan = await sim.reconcile(T0);
    expect(states(sim.document)).toEqual([[kid(0), "active"]]);
    expect(plan.status.observedRequests).toEqual({ rotate: "r0", dropDeposed: "d0", revokeAll: "x0" });
    expectQuiet(await sim.reconcile(at(H)));
  });

  it("takes a rotation requested while a key is prepared as served by that key", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    sim.spec = { rotate: "1" };
    await sim.reconcile(at(H));
    sim.spec = { rotate: "2" };
    const plan = await sim.reconcile(at(H + M));
    expect(states(sim.document)).toEqual([
      [kid(1), "prepared"],
      [kid(0), "active"],
    ]);
    expect(plan.events.map((e) => e.reason)).toEqual(["RotationInProgress"]);
    expect(plan.status.observedRequests.rotate).toBe("2");
    expect(plan.keys[0]?.activatesAt).toBe(iso(at(H + 5 * M)));
  });

  it("drops the deposed key now for a new spec.dropDeposed value", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    await sim.reconcile(at(720 * H));
    await sim.reconcile(at(720 * H + 5 * M));
    sim.spec = { dropDeposed: "incident-42" };
    const plan = await sim.reconcile(at(721 * H));
    expect(states(sim.document)).toEqual([[kid(1), "active"]]);
    expect(plan.actions).toEqual([
      { type: "drop", kid: kid(0), cause: "dropDeposed" },
      { type: "observe", field: "dropDeposed", value: "incident-42" },
    ]);
    expect(plan.events[0]?.message).toContain(`dropped deposed key ${kid(0)}`);
    expectQuiet(await sim.reconcile(at(722 * H)));
  });

  it("records a dropDeposed value when there is no deposed key, and drops nothing later", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    sim.spec = { dropDeposed: "1" };
    const plan = await sim.reconcile(at(H));
    expect(plan.events[0]?.message).toContain("there is no deposed key to drop");
    expect(plan.status.observedRequests.dropDeposed).toBe("1");
    await sim.reconcile(at(720 * H));
    await sim.reconcile(at(720 * H + 5 * M));
    expect(states(sim.document)).toEqual([
      [kid(1), "active"],
      [kid(0), "deposed"],
    ]);
  });

  it("replaces every key with a new active key for a new spec.revokeAll value, skipping pre-publication", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    await sim.reconcile(at(720 * H));
    await sim.reconcile(at(720 * H + 5 * M));
    await sim.reconcile(at(1440 * H)); // prepared + active + deposed
    sim.spec = { revokeAll: "breach" };
    const now = at(1440 * H + M);
    const plan = await sim.reconcile(now);
    expect(states(sim.document)).toEqual([[kid(3), "active"]]);
    expect(plan.actions.filter((a) => a.type === "drop").map((a) => a.kid).sort()).toEqual([kid(0), kid(1), kid(2)].sort());
    expect(plan.keys[0]).toMatchObject({ createdAt: iso(now), activatesAt: iso(now) });
    expect(plan.events.map((e) => e.reason)).toEqual(["AllKeysRevoked"]);
    expect(plan.status.lastRotationTime).toBe(iso(now));
    expect(plan.status.nextRotationTime).toBe(iso(new Date(now.getTime() + 720 * H)));
    expectQuiet(await sim.reconcile(at(1441 * H)));
  });

  it("mints a single key when revokeAll, rotate and dropDeposed change together", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.spec = { rotate: "1", dropDeposed: "1", revokeAll: "1" };
    const plan = await sim.reconcile(at(H));
    expect(plan.actions.filter((a) => a.type === "mint")).toHaveLength(1);
    expect(plan.status.observedRequests).toEqual({ rotate: "1", dropDeposed: "1", revokeAll: "1" });
    expectQuiet(await sim.reconcile(at(2 * H)));
  });

  it("acts on a value that returns after another one", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    for (const [i, value] of ["a", "b", "a"].entries()) {
      sim.spec = { dropDeposed: value };
      const plan = await sim.reconcile(at((i + 1) * H));
      expect(plan.actions).toContainEqual({ type: "observe", field: "dropDeposed", value });
    }
  });
});

describe("planKeys when the signing-key Secret is lost", () => {
  it("mints an active key at once and warns that tokens of the lost keys no longer verify", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    await sim.reconcile(at(720 * H));
    sim.document = null;
    const now = at(720 * H + M);
    const plan = await sim.reconcile(now);
    expect(states(sim.document)).toEqual([[kid(2), "active"]]);
    expect(plan.events).toHaveLength(1);
    expect(plan.events[0]?.type).toBe("Warning");
    expect(plan.events[0]?.reason).toBe("SigningKeyLost");
    expect(plan.events[0]?.message).toContain(`(${kid(1)}, ${kid(0)})`);
    expect(plan.events[0]?.message).toContain("no longer verify");
    expect(plan.status.lastRotationTime).toBe(iso(now));
    expect(plan.nextWakeAt).toEqual(new Date(now.getTime() + 720 * H));
  });

  it("takes pending requests as served by the replacement key", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.document = null;
    sim.spec = { rotate: "1", revokeAll: "1" };
    const plan = await sim.reconcile(at(H));
    expect(plan.actions.filter((a) => a.type === "mint")).toHaveLength(1);
    expect(plan.status.observedRequests).toEqual({ rotate: "1", revokeAll: "1" });
    expectQuiet(await sim.reconcile(at(2 * H)));
  });

  it("records no Event on the first reconcile of a new ApiKey", async () => {
    const { sim } = fresh();
    const plan = await sim.reconcile(T0);
    expect(plan.events).toEqual([]);
  });
});

describe("planKeys and spec.revokeIssuedBefore", () => {
  it("records a past cut-off in the Secret and reports it", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.spec = { revokeIssuedBefore: "2026-01-01T00:30:00+01:00" };
    const plan = await sim.reconcile(at(H));
    expect(plan.document.revokedBefore).toBe("2025-12-31T23:30:00Z");
    expect(plan.actions).toEqual([{ type: "revokedBefore", value: "2025-12-31T23:30:00Z" }]);
    expect(plan.events.map((e) => e.reason)).toEqual(["RevocationCutoffMoved"]);
    expect(plan.secretChanged).toBe(true);
    expectQuiet(await sim.reconcile(at(2 * H)));
  });

  it("never moves the cut-off earlier", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.spec = { revokeIssuedBefore: "2026-01-01T00:30:00Z" };
    await sim.reconcile(at(H));
    sim.spec = { revokeIssuedBefore: "2025-06-01T00:00:00Z" };
    expectQuiet(await sim.reconcile(at(2 * H)));
    sim.spec = {};
    const plan = await sim.reconcile(at(3 * H));
    expectQuiet(plan);
    expect(plan.document.revokedBefore).toBe("2026-01-01T00:30:00Z");
  });

  it("refuses a cut-off in the future, changes nothing, and applies it once it has passed", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.spec = { revokeIssuedBefore: iso(at(10 * H)) };
    const plan = await sim.reconcile(at(H));
    expect(plan.document.revokedBefore).toBeNull();
    expect(plan.secretChanged).toBe(false);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]?.field).toBe("spec.revokeIssuedBefore");
    expect(plan.problems[0]?.message).toContain("must not be in the future");
    expect(plan.nextWakeAt).toEqual(at(10 * H));
    const later = await sim.reconcile(at(10 * H));
    expect(later.problems).toEqual([]);
    expect(later.document.revokedBefore).toBe(iso(at(10 * H)));
  });

  it("refuses a value that is not an RFC 3339 time, naming the field and the format", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.spec = { revokeIssuedBefore: "yesterday" };
    const plan = await sim.reconcile(at(H));
    expect(plan.secretChanged).toBe(false);
    expect(plan.problems).toEqual([
      {
        field: "spec.revokeIssuedBefore",
        message:
          'ApiKey acme/reporting: spec.revokeIssuedBefore "yesterday" is not an RFC 3339 time: write it like "2026-11-29T12:00:00Z"; nothing was revoked',
      },
    ]);
  });
});

describe("planKeys across restarts", () => {
  it("changes nothing when re-run on its own output at the same instant, at every step", async () => {
    const { sim } = fresh(policyOf({ grace: "24h" }));
    const steps: [number, Partial<typeof sim.spec>][] = [
      [0, {}],
      [720 * H, {}],
      [720 * H + 5 * M, {}],
      [730 * H, { rotate: "1" }],
      [730 * H + 5 * M, {}],
      [731 * H, { dropDeposed: "1" }],
      [732 * H, { revokeAll: "1" }],
      [733 * H, { revokeIssuedBefore: iso(at(732 * H)) }],
    ];
    for (const [ms, spec] of steps) {
      sim.spec = { ...sim.spec, ...spec };
      await sim.reconcile(at(ms));
      const document = sim.document;
      const status = sim.status;
      const again = await sim.reconcile(at(ms));
      expectQuiet(again);
      expect(sim.document).toEqual(document);
      expect(again.status).toEqual(status);
    }
  });

  it("neither repeats nor misses a rotation when the controller stops between the Secret and the status write", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    // The scheduled rotation is written to the Secret, then the controller stops.
    await sim.reconcile(at(720 * H), { crashBeforeStatus: true });
    expect(sim.status.nextRotationTime).toBe(iso(at(720 * H)));
    // The next controller sees a status whose rotation is due, and a Secret that already has it.
    const plan = await sim.reconcile(at(720 * H + M));
    expect(plan.actions).toEqual([]);
    expect(states(sim.document)).toEqual([
      [kid(1), "prepared"],
      [kid(0), "active"],
    ]);
    expect(plan.status.nextRotationTime).toBe(iso(at(1440 * H)));
    expect(sim.pool.minted).toBe(2);
  });

  it("does not repeat a requested rotation whose status write was lost", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.spec = { rotate: "1" };
    await sim.reconcile(at(H), { crashBeforeStatus: true });
    expect(sim.status.observedRequests).toEqual({});
    const plan = await sim.reconcile(at(H + M));
    expect(plan.actions).toEqual([]);
    expect(plan.status.observedRequests).toEqual({ rotate: "1" });
  });

  it("restores the schedule from the Secret when the status is lost", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    await sim.reconcile(at(720 * H));
    sim.status = {};
    const plan = await sim.reconcile(at(800 * H));
    expect(plan.actions.map((a) => a.type)).toEqual(["depose", "activate"]);
    expect(plan.status.nextRotationTime).toBe(iso(at(1440 * H)));
  });

  /**
   * A year of one ApiKey with requests along the way, reconciled only at the times
   * the plans ask for; optionally with extra reconciles at `extra` instants, each of
   * which stops the controller before its status write.
   */
  async function year(extra: number[]): Promise<{ document: string; minted: number; rotations: number }> {
    const { sim } = fresh(policyOf({ grace: "240h" }));
    const requests = new Map<number, Partial<typeof sim.spec>>([
      [100 * H, { rotate: "r1" }],
      [100 * H + 2 * M, { rotate: "r2" }],
      [2000 * H, { dropDeposed: "d1" }],
      [3000 * H, { revokeAll: "x1" }],
      [3000 * H + M, { rotate: "r3" }],
    ]);
    const end = 8760 * H;
    const pendingExtra = [...extra].sort((a, b) => a - b);
    const requestTimes = [...requests.keys()].sort((a, b) => a - b);
    let now = 0;
    let plan = await sim.reconcile(at(0));
    for (;;) {
      const wake = plan.nextWakeAt.getTime() - T0.getTime();
      const nextRequest = requestTimes.find((t) => t > now) ?? Infinity;
      const nextExtra = pendingExtra.find((t) => t > now) ?? Infinity;
      now = Math.min(wake, nextRequest, nextExtra);
      if (now > end) break;
      const request = requests.get(now);
      if (request !== undefined) sim.spec = { ...sim.spec, ...request };
      const isExtra = now === nextExtra && now !== wake && now !== nextRequest;
      plan = await sim.reconcile(at(now), { crashBeforeStatus: isExtra });
      if (isExtra) plan = await sim.reconcile(at(now));
    }
    const rotations = sim.plans.flatMap((p) => p.actions).filter((a) => a.type === "mint").length;
    return { document: JSON.stringify(sim.document), minted: sim.pool.minted, rotations };
  }

  it("ends a year with the same keys whatever instant the controller restarts at", async () => {
    const reference = await year([]);
    // Rotations are due every 720h; keys activate 5m after; deposed keys end 240h after that.
    const interesting = [
      1, 720 * H - 1000, 720 * H, 720 * H + 1000, 720 * H + 5 * M - 1000, 720 * H + 5 * M, 720 * H + 5 * M + 1000,
      960 * H + 5 * M - 1000, 960 * H + 5 * M, 100 * H + M, 100 * H + 2 * M + 1000, 2000 * H + 1000, 3000 * H + 30_000,
      3000 * H + 3 * M, 5000 * H,
    ];
    for (const instant of interesting) {
      expect({ instant, ...(await year([instant])) }).toEqual({ instant, ...reference });
    }
    expect(await year(interesting)).toEqual(reference);
  });
});

describe("planKeys never leaks private key material", () => {
  it("keeps private members out of status, actions and events", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    await sim.reconcile(at(720 * H));
    sim.document = null;
    const plan = await sim.reconcile(at(721 * H));
    const visible = JSON.stringify({ status: plan.status, actions: plan.actions, events: plan.events });
    for (const key of plan.keys) expect(visible).not.toContain(key.jwk.d);
    expect(visible).not.toMatch(/"(d|p|q|dp|dq|qi)":/);
  });

  it("names the ApiKey in every event it plans", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    const plan = await sim.reconcile(at(720 * H));
    expect(plan.events.length).toBeGreaterThan(0);
    for (const e of plan.events) expect(e.message).toContain(`ApiKey ${APIKEY.namespace}/${APIKEY.name}`);
  });
});

describe("planKeys with the activation gate", () => {
  const waiting = { kind: "waiting", live: 3, behind: 1, generation: 5, recheckAt: null } as const;

  it("activates a prepared key before prePublish ends once every live verifier enforces a bundle that holds it, recording why", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    sim.gate = () => waiting;
    await sim.reconcile(at(720 * H));
    expect(states(sim.document)).toEqual([[kid(1), "prepared"], [kid(0), "active"]]);

    sim.gate = (k) => (k === kid(1) ? { kind: "held", live: 3, generation: 5 } : waiting);
    const plan = await sim.reconcile(at(720 * H + 2000));
    expect(states(sim.document)).toEqual([[kid(1), "active"], [kid(0), "deposed"]]);
    expect(plan.actions).toContainEqual({ type: "activate", kid: kid(1), at: iso(at(720 * H + 2000)), reason: "VerifiersSynced", verifiers: 3 });
    expect(plan.activation).toEqual({ kid: kid(1), at: iso(at(720 * H + 2000)), reason: "VerifiersSynced", verifiers: 3 });
    // The grace window of the deposed key runs from the actual activation.
    expect(plan.keys[1]?.notAfter).toBe(iso(at(1440 * H + 2000)));
    expect(plan.events.find((e) => e.reason === "KeyActivated")?.message).toContain("every one of 3 live verifier(s) of the tenant enforces bundle generation 5");
  });

  it("activates at prePublish while a live verifier is still behind, and says so", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    sim.gate = () => waiting;
    await sim.reconcile(at(720 * H));
    expectQuiet(await sim.reconcile(at(720 * H + 5 * M - 1000)));
    const plan = await sim.reconcile(at(720 * H + 5 * M));
    expect(states(sim.document)).toEqual([[kid(1), "active"], [kid(0), "deposed"]]);
    expect(plan.activation).toEqual({ kid: kid(1), at: iso(at(720 * H + 5 * M)), reason: "PrePublishElapsed", verifiers: 3 });
    expect(plan.events.find((e) => e.reason === "KeyActivated")?.message).toContain("prePublish passed while 1 of 3 live verifier(s) did not enforce a bundle holding it");
  });

  it("wakes when a live verifier the gate waits for could age out, before prePublish ends", async () => {
    const { sim } = fresh();
    await sim.reconcile(T0);
    sim.gate = () => ({ ...waiting, recheckAt: at(720 * H + 30_000) });
    const plan = await sim.reconcile(at(720 * H));
    expect(plan.nextWakeAt).toEqual(at(720 * H + 30_000));
    expect(plan.preparedGate?.kind).toBe("waiting");
  });

  it("does not activate a key just minted in the same plan, even when the gate is open", async () => {
    const { sim, kid } = fresh();
    await sim.reconcile(T0);
    sim.gate = () => ({ kind: "held", live: 1, generation: 1 });
    await sim.reconcile(at(720 * H));
    expect(states(sim.document)).toEqual([[kid(1), "prepared"], [kid(0), "active"]]);
  });
});
