import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Lru } from "../../../src/token/lib/lru.ts";

describe("Lru", () => {
  it("evicts the least recently used entry beyond its capacity", () => {
    const lru = new Lru<string, number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.get("a")).toBe(1);
    lru.set("c", 3);
    expect([lru.get("a"), lru.get("b"), lru.get("c")]).toEqual([1, undefined, 3]);
    expect(lru.size).toBe(2);
  });

  it("replaces the value of a key without growing", () => {
    const lru = new Lru<string, number>(2);
    lru.set("a", 1);
    lru.set("a", 2);
    expect(lru.size).toBe(1);
    expect(lru.get("a")).toBe(2);
  });

  it("holds nothing with a capacity of zero", () => {
    const lru = new Lru<string, number>(0);
    lru.set("a", 1);
    expect(lru.get("a")).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it("deletes and clears", () => {
    const lru = new Lru<string, number>(3);
    lru.set("a", 1);
    lru.set("b", 2);
    expect(lru.delete("a")).toBe(true);
    expect(lru.get("a")).toBeUndefined();
    lru.clear();
    expect(lru.size).toBe(0);
  });
});

describe("Lru recency", () => {
  it("keeps an entry read since the last eviction and evicts one that was not read", () => {
    const lru = new Lru<string, number>(3);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    lru.get("a");
    lru.set("d", 4);
    expect([lru.get("a"), lru.get("b"), lru.get("c"), lru.get("d")]).toEqual([1, undefined, 3, 4]);
  });

  it("lets an entry read on every round outlive any number of entries read once", () => {
    const lru = new Lru<string, number>(4);
    lru.set("hot", 0);
    for (let i = 0; i < 100; i++) {
      expect(lru.get("hot")).toBe(0);
      lru.set(`cold-${i}`, i);
      expect(lru.size).toBeLessThanOrEqual(4);
    }
    expect(lru.get("cold-99")).toBe(99);
    expect(lru.get("cold-0")).toBeUndefined();
  });

  it("evicts the oldest entry first when none was read", () => {
    const lru = new Lru<string, number>(3);
    for (const [i, k] of ["a", "b", "c", "d", "e"].entries()) lru.set(k, i);
    expect([lru.get("a"), lru.get("b"), lru.get("c"), lru.get("d"), lru.get("e")]).toEqual([undefined, undefined, 2, 3, 4]);
  });

  it("reuses the slot of a deleted entry before evicting any other", () => {
    const lru = new Lru<string, number>(3);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    lru.delete("b");
    lru.set("d", 4);
    expect([lru.get("a"), lru.get("c"), lru.get("d")]).toEqual([1, 3, 4]);
    expect(lru.size).toBe(3);
  });

  it("counts a rewrite of a key as a use", () => {
    const lru = new Lru<string, number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("a", 10);
    lru.set("c", 3);
    expect([lru.get("a"), lru.get("b"), lru.get("c")]).toEqual([10, undefined, 3]);
  });

  it("starts afresh after clear", () => {
    const lru = new Lru<string, number>(2);
    lru.set("a", 1);
    lru.get("a");
    lru.clear();
    lru.set("b", 2);
    lru.set("c", 3);
    lru.set("d", 4);
    expect([lru.get("b"), lru.get("c"), lru.get("d")]).toEqual([undefined, 3, 4]);
  });
});

type Op = { op: "set"; key: number; value: number } | { op: "get"; key: number } | { op: "delete"; key: number } | { op: "clear" };

const ops = fc.array(
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant("set" as const), key: fc.integer({ min: 0, max: 11 }), value: fc.integer() }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant("get" as const), key: fc.integer({ min: 0, max: 11 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), key: fc.integer({ min: 0, max: 11 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("clear" as const) }) },
  ),
  { maxLength: 200 },
);

describe("Lru properties", () => {
  it("never holds more than its capacity, and answers only the last value set for a key it still holds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), ops, (capacity, list: Op[]) => {
        const lru = new Lru<number, number>(capacity);
        // The last value set for each key not deleted or cleared since: an upper bound on what the cache holds.
        const model = new Map<number, number>();
        for (const o of list) {
          if (o.op === "set") {
            lru.set(o.key, o.value);
            model.set(o.key, o.value);
            // The entry just written is always there (unless the cache holds nothing).
            expect(lru.get(o.key)).toBe(capacity > 0 ? o.value : undefined);
          } else if (o.op === "get") {
            const got = lru.get(o.key);
            if (got !== undefined) expect(got).toBe(model.get(o.key));
          } else if (o.op === "delete") {
            lru.delete(o.key);
            model.delete(o.key);
            expect(lru.get(o.key)).toBeUndefined();
          } else {
            lru.clear();
            model.clear();
          }
          expect(lru.size).toBeLessThanOrEqual(capacity);
          expect(lru.size).toBeLessThanOrEqual(model.size);
        }
      }),
    );
  });

  it("evicts nothing while the distinct keys written fit in its capacity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), ops, (capacity, list: Op[]) => {
        const lru = new Lru<number, number>(capacity);
        const model = new Map<number, number>();
        for (const o of list) {
          if (o.op === "set") {
            if (!model.has(o.key) && model.size === capacity) break;
            lru.set(o.key, o.value);
            model.set(o.key, o.value);
          } else if (o.op === "get") {
            lru.get(o.key);
          } else if (o.op === "delete") {
            lru.delete(o.key);
            model.delete(o.key);
          } else {
            lru.clear();
            model.clear();
          }
          expect(lru.size).toBe(model.size);
          for (const [k, v] of model) expect(lru.get(k)).toBe(v);
        }
      }),
    );
  });
});
