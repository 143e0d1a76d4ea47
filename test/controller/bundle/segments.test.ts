import { beforeAll, describe, expect, it } from "vitest";
import { planBundle, type BundleApiKeyInput, type BundlePlan, type PlanBundleInput } from "../../../src/controller/bundle/plan.ts";
import { planSegments, type ExistingSegment } from "../../../src/controller/bundle/segments.ts";
import { readSegment } from "../../../src/controller/bundle/segment-reads.ts";
import { bundleSegmentName } from "../../../src/model/names.ts";
import { assembleBundle, parseBundle, parseSegment, segmentDigest, serializeSegment } from "../../../src/token/index.ts";
import { generateSigningKey } from "../../../src/token/keys/generate.ts";
import { publicJwkOf } from "../../../src/token/keys/public.ts";
import type { PrivateJwk, RevokedEntry } from "../../../src/token/types.ts";

const NOW = new Date("2026-03-01T12:00:00Z");
const NOW_S = NOW.getTime() / 1000;
const DAY_S = 86_400;

let jwk: PrivateJwk;
beforeAll(async () => {
  jwk = await generateSigningKey();
});

const revocation = (i: number, exp: number | null = NOW_S + DAY_S): RevokedEntry => ({ jti: `jti-${String(i).padStart(6, "0")}`, apiKey: "reporting", exp });
const many = (from: number, to: number, exp?: number | null): RevokedEntry[] => Array.from({ length: to - from }, (_, i) => revocation(from + i, exp));

function reporting(): BundleApiKeyInput {
  return { name: "reporting", uid: "uid-reporting", deleting: false, suspended: false, policies: [], revokedBefore: null, allowNonExpiring: true, keys: [{ ...publicJwkOf(jwk), apiKey: "reporting", state: "active", notAfter: null }] };
}

/** What the controller keeps between reconciles: its record (head and segment copies) and the tenant's ConfigMaps. */
class Tenant {
  record: string | null = null;
  current: Record<string, string> | null = null;
  readonly recordSegments = new Map<string, string>();
  readonly slots = new Map<string, string>();
  /** Slot names written, in order. */
  readonly written: string[] = [];

  plan(revocations: readonly RevokedEntry[], over: Partial<PlanBundleInput> = {}): BundlePlan {
    return planBundle({
      tenant: "acme",
      issuer: "https://keyward.example",
      now: NOW,
      apiKeys: [reporting()],
      accessPolicies: [],
      revocations,
      current: this.current,
      record: this.record,
      trust: null,
      recordSegments: this.recordSegments,
      tenantSegments: this.slots,
      sealAt: 100,
      segmentMaxBytes: 8 * 1024,
      ...over,
    });
  }

  /** Plans and writes as the reconciler does: segments (record copy, slot), then the record, then the bundle. */
  apply(revocations: readonly RevokedEntry[], over: Partial<PlanBundleInput> = {}): Extract<BundlePlan, { ok: true }> {
    const inUse = new Set([this.record, this.current?.["bundle.json"]].flatMap((t) => (t === null || t === undefined ? [] : (parseBundle(t).revokedSegments ?? []).map((r) => r.name))));
    const plan = this.plan(revocations, over);
    if (!plan.ok) throw new Error(plan.message);
    for (const s of plan.segments) {
      if (this.slots.get(s.ref.name) === s.text) continue;
      // A slot is never rewritten while a head in use names it.
      expect(inUse.has(s.ref.name) && this.slots.has(s.ref.name)).toBe(false);
      this.recordSegments.set(s.ref.name, s.text);
      this.slots.set(s.ref.name, s.text);
      this.written.push(s.ref.name);
    }
    this.record = plan.data["bundle.json"];
    this.current = { ...plan.data };
    return plan;
  }

  /** Every jti a verifier refuses: the head's and its segments'. */
  enforced(): Set<string> {
    const head = parseBundle(this.current?.["bundle.json"] ?? "");
    return new Set(assembleBundle(head, (name) => this.slots.get(name)).revoked.map((r) => r.jti));
  }
}

describe("revocations past what bundle.json holds", () => {
  it("keeps every revocation while they grow past the head's limit, one at a time", () => {
    const t = new Tenant();
    const all: RevokedEntry[] = [];
    for (let i = 0; i < 700; i++) {
      all.push(revocation(i));
      t.apply(all, { sizeLimit: 16 * 1024 });
      if (i % 61 === 0) expect(t.enforced()).toEqual(new Set(all.map((r) => r.jti)));
    }
    expect(t.enforced()).toEqual(new Set(all.map((r) => r.jti)));
    const head = parseBundle(t.record ?? "");
    expect(head.revoked.length).toBeLessThan(100);
    expect(head.revokedSegments?.length).toBeGreaterThan(1);
  });

  it("moves the head's revocations into a segment once sealAt are loose, and not before", () => {
    const t = new Tenant();
    expect(t.apply(many(0, 99)).segments).toEqual([]);
    const sealed = t.apply(many(0, 100));
    expect(sealed.bundle.revoked).toEqual([]);
    expect(sealed.segments.map((s) => [s.ref.name, s.ref.count, s.written])).toEqual([[bundleSegmentName(1), 100, true]]);
  });

  it("seals before sealAt when the head would not fit, instead of refusing the bundle", () => {
    const t = new Tenant();
    const plan = t.plan(many(0, 50), { sizeLimit: 2000 });
    expect(plan.ok).toBe(true);
    expect(plan.ok && plan.segments.length).toBeGreaterThan(0);
    expect(plan.ok && plan.bundle.revoked).toEqual([]);
  });

  it("plans the same bundle again from its own record: nothing is written at rest", () => {
    const t = new Tenant();
    t.apply(many(0, 750));
    const again = t.plan(many(0, 750));
    expect(again.ok && again.changed).toBe(false);
    expect(again.ok && again.inPlace).toBe(true);
    expect(again.ok && again.segments.every((s) => t.slots.get(s.ref.name) === s.text)).toBe(true);
  });

  it("merges new revocations into the smallest segment while they fit, so slots fill up", () => {
    const t = new Tenant();
    t.apply(many(0, 100));
    const second = t.apply(many(0, 200));
    // One segment of 200 in a new slot; the old slot is free again.
    expect(second.segments.map((s) => s.ref.count)).toEqual([200]);
    expect(second.segments[0]?.ref.name).toBe(bundleSegmentName(2));
  });

  it("compacts a segment once fewer than half of its revocations are still needed, and drops an empty one", () => {
    const t = new Tenant();
    const soon = NOW_S + 600;
    t.apply([...many(0, 100, soon), ...many(100, 130)], { segmentMaxBytes: 4000 });
    const before = parseBundle(t.record ?? "").revokedSegments ?? [];
    expect(before.length).toBeGreaterThan(0);
    // The first 100 expired (and their retention passed): what is left is compacted into fewer, smaller segments.
    const later = new Date((soon + 301) * 1000);
    const plan = t.apply(many(100, 130), { now: later, segmentMaxBytes: 4000 });
    const total = plan.segments.reduce((n, s) => n + s.ref.count, 0) + plan.bundle.revoked.length;
    expect(total).toBe(30);
    expect(t.enforced()).toEqual(new Set(many(100, 130).map((r) => r.jti)));
  });

  it("keeps a segment as it is while at least half of it is still needed", () => {
    const existing = segment(1, [...many(0, 50), ...many(50, 100, NOW_S - DAY_S)]);
    const layout = planSegments({ tenant: "acme", loose: many(0, 50), needed: notExpired, previous: [existing], inUse: new Set([existing.ref.name]), mustSeal: false, sealAt: 100, segmentMaxBytes: 8192 });
    expect(layout.segments).toEqual([{ ref: existing.ref, text: existing.text, written: false }]);
    expect(layout.head).toEqual([]);
  });

  it("cuts new segments so that each revoked.json stays within segmentMaxBytes, and fills them", () => {
    const layout = planSegments({ tenant: "acme", loose: many(0, 3000), needed: notExpired, previous: [], inUse: new Set(), mustSeal: false, sealAt: 100, segmentMaxBytes: 16 * 1024 });
    const sizes = layout.segments.map((x) => Buffer.byteLength(x.text));
    expect(sizes.every((n) => n <= 16 * 1024)).toBe(true);
    expect(sizes.slice(0, -1).every((n) => n > 14 * 1024)).toBe(true);
    expect(layout.segments.reduce((n, x) => n + x.ref.count, 0)).toBe(3000);
  });

  it("never writes into a slot a head in use names", () => {
    const inUse = new Set([bundleSegmentName(1), bundleSegmentName(2)]);
    const layout = planSegments({ tenant: "acme", loose: many(0, 100), needed: notExpired, previous: [], inUse, mustSeal: false, sealAt: 100, segmentMaxBytes: 8192 });
    expect(layout.segments.map((s) => s.ref.name)).toEqual([bundleSegmentName(3)]);
  });

  it("leaves in the head, and drops none of, the revocations no free slot can take", () => {
    const inUse = new Set([bundleSegmentName(1), bundleSegmentName(2)]);
    const layout = planSegments({ tenant: "acme", loose: many(0, 300), needed: notExpired, previous: [], inUse, mustSeal: true, sealAt: 100, segmentMaxBytes: 2048, slots: 3 });
    const placed = layout.segments.reduce((n, s) => n + s.ref.count, 0);
    expect(layout.segments).toHaveLength(1);
    expect(placed + layout.head.length).toBe(300);
    expect(layout.unplaced).toBe(layout.head.length);
  });

  it("refuses the bundle with BundleTooLarge naming the full slots when the head cannot fit, and drops no revocation", () => {
    const t = new Tenant();
    const plan = t.plan(many(0, 600), { sizeLimit: 2000, segmentMaxBytes: 2048 });
    // 600 revocations need ~14 segments of 2 KiB; with every slot but those free it would fit, so fill the slots first.
    expect(plan.ok).toBe(true);
    const crowded = planSegments({ tenant: "acme", loose: many(0, 600), needed: notExpired, previous: [], inUse: new Set(Array.from({ length: 32 }, (_, i) => bundleSegmentName(i + 1))), mustSeal: true, sealAt: 100, segmentMaxBytes: 2048 });
    expect(crowded.head).toHaveLength(600);
    const full = new Tenant();
    full.apply(many(0, 10));
    const tooMany = full.plan(many(0, 5000), { sizeLimit: 4000, segmentMaxBytes: 1024 });
    expect(tooMany.ok).toBe(false);
    expect(!tooMany.ok && tooMany.message).toMatch(/every revocation segment slot is in use: \d+ revocations could not move out of bundle.json/);
  });

  it("reads a segment from the tenant's slot when the record's copy is gone, and says when both are", () => {
    const t = new Tenant();
    t.apply(many(0, 100));
    t.recordSegments.clear();
    const fromSlot = t.plan(many(0, 10));
    expect(fromSlot.ok && fromSlot.changed).toBe(false);
    expect(fromSlot.events.filter((e) => e.reason === "BundleReplaced")).toEqual([]);
    t.slots.set(bundleSegmentName(1), serializeSegment("acme", many(0, 99)));
    const lost = t.plan(many(0, 10));
    expect(lost.events.map((e) => e.reason)).toContain("BundleReplaced");
    expect(lost.events.find((e) => e.reason === "BundleReplaced")?.message).toMatch(/keyward-bundle-revoked-1 .* its 100 revocations are lost/);
  });

  it("wakes when half of a segment's revocations have expired", () => {
    const t = new Tenant();
    const exps = Array.from({ length: 100 }, (_, i) => revocation(i, NOW_S + 1000 + i));
    t.apply(exps);
    const plan = t.apply(exps);
    expect(plan.nextWakeAt?.toISOString()).toBe(new Date((NOW_S + 1000 + 50 + 300 + 1) * 1000).toISOString());
  });
});

function segment(slot: number, entries: RevokedEntry[]): ExistingSegment {
  const text = serializeSegment("acme", entries);
  const name = bundleSegmentName(slot);
  const ref = { name, sha256: segmentDigest(text), count: parseSegment(text, name).revoked.length };
  const read = readSegment({ tenant: "acme", generation: 1 }, ref, text);
  if (read === null) throw new Error("not a segment");
  return { ref, text, read };
}

function notExpired(r: RevokedEntry): boolean {
  return r.exp === null || r.exp > NOW_S;
}
