import { beforeAll, describe, expect, it } from "vitest";
import { planKeyring, type KeyringPlan, type PlanKeyringInput } from "../../../src/controller/bundle/keyring.ts";
import { signingKeyInUse, type BundleSigningDocument } from "../../../src/model/bundle/signing.ts";
import { generateSigningKey, type PrivateJwk } from "../../../src/token/index.ts";

const T0 = new Date("2026-12-01T00:00:00Z");
const MIN = 60_000;
const DAY = 86_400_000;
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const settings = { rotateEveryMs: 30 * DAY, overlapMs: 10 * MIN };

let k1: PrivateJwk;
let k2: PrivateJwk;
beforeAll(async () => {
  [k1, k2] = await Promise.all([generateSigningKey("EdDSA"), generateSigningKey("EdDSA")]);
});

function done(plan: KeyringPlan): Extract<KeyringPlan, { needsKey: false }> {
  if (plan.needsKey) throw new Error("the plan asked for a key");
  return plan;
}

/** What the trust ConfigMap says after `plan` was written. */
function published(plan: Extract<KeyringPlan, { needsKey: false }>): Map<string, string> {
  return new Map((JSON.parse(plan.trust) as { keys: { kid: string; publishedAt: string }[] }).keys.map((k) => [k.kid, k.publishedAt]));
}

function step(now: Date, document: BundleSigningDocument | null, pub: Map<string, string>, over: Partial<PlanKeyringInput> = {}): Extract<KeyringPlan, { needsKey: false }> {
  return done(planKeyring({ ...settings, now, document, published: pub, signing: new Set(), fresh: null, ...over }));
}

describe("planKeyring", () => {
  it("makes a first key that signs at once and is published", () => {
    expect(planKeyring({ ...settings, now: T0, document: null, published: new Map(), signing: new Set(), fresh: null })).toEqual({ needsKey: true });
    const plan = step(T0, null, new Map(), { fresh: k1 });
    expect(signingKeyInUse(plan.document)?.jwk.kid).toBe(k1.kid);
    expect([...published(plan).keys()]).toEqual([k1.kid]);
    expect(plan.trust).not.toContain('"d"');
    expect(plan.wakeAt).toEqual(at(30 * DAY));
  });

  it("publishes a successor first, signs with it only after the overlap, and withdraws the old key only once no bundle is signed with it", () => {
    const first = step(T0, null, new Map(), { fresh: k1 });
    let pub = published(first);
    // Due: a successor is made and published, the first key still signs.
    expect(planKeyring({ ...settings, now: at(30 * DAY), document: first.document, published: pub, signing: new Set([k1.kid]), fresh: null })).toEqual({ needsKey: true });
    const made = step(at(30 * DAY), first.document, pub, { fresh: k2, signing: new Set([k1.kid]) });
    expect(signingKeyInUse(made.document)?.jwk.kid).toBe(k1.kid);
    pub = published(made);
    expect([...pub.keys()].sort()).toEqual([k1.kid, k2.kid].sort());
    // Once the trust ConfigMap lists it (its write wakes the keyring), the switch is due after the overlap.
    expect(step(at(30 * DAY), made.document, pub, { signing: new Set([k1.kid]) }).wakeAt).toEqual(at(30 * DAY + 10 * MIN));

    // Within the overlap: still the first key.
    const early = step(at(30 * DAY + 10 * MIN - 1000), made.document, pub, { signing: new Set([k1.kid]) });
    expect(signingKeyInUse(early.document)?.jwk.kid).toBe(k1.kid);

    // After the overlap: the successor signs, the first key is retired but still published.
    const switched = step(at(30 * DAY + 10 * MIN), made.document, pub, { signing: new Set([k1.kid]) });
    expect(signingKeyInUse(switched.document)?.jwk.kid).toBe(k2.kid);
    expect([...published(switched).keys()].sort()).toEqual([k1.kid, k2.kid].sort());

    // A bundle is still signed with the old key: it stays published past the overlap.
    const waiting = step(at(30 * DAY + 60 * MIN), switched.document, pub, { signing: new Set([k1.kid, k2.kid]) });
    expect([...published(waiting).keys()].sort()).toEqual([k1.kid, k2.kid].sort());

    // Every bundle re-signed: withdrawn.
    const withdrawn = step(at(30 * DAY + 60 * MIN), switched.document, pub, { signing: new Set([k2.kid]) });
    expect([...published(withdrawn).keys()]).toEqual([k2.kid]);
    expect(withdrawn.document.keys.map((k) => k.jwk.kid)).toEqual([k2.kid]);
  });

  it("does not start the overlap of a successor the trust ConfigMap does not list yet", () => {
    const first = step(T0, null, new Map(), { fresh: k1 });
    const made = step(at(30 * DAY), first.document, published(first), { fresh: k2 });
    // The trust ConfigMap write failed: it still lists the first key only.
    const later = step(at(31 * DAY), made.document, published(first));
    expect(signingKeyInUse(later.document)?.jwk.kid).toBe(k1.kid);
  });

  it("keeps the time each key was first published", () => {
    const first = step(T0, null, new Map(), { fresh: k1 });
    const again = step(at(DAY), first.document, published(first));
    expect(published(again).get(k1.kid)).toBe("2026-12-01T00:00:00Z");
    expect(again.trust).toBe(first.trust);
  });
});
