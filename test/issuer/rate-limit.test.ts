import { describe, expect, it } from "vitest";
import { FailureLimiter } from "../../src/issuer/index.ts";
import { ManualClock } from "../../src/kube/clock.ts";

describe("FailureLimiter", () => {
  it("lets a key fail its burst, then asks it to wait until one token has refilled", async () => {
    const clock = new ManualClock(0);
    const l = new FailureLimiter(clock, { burst: 3, refillMs: 4000 });
    for (let i = 0; i < 3; i++) {
      expect(l.retryAfter("k")).toBe(0);
      l.fail("k");
    }
    expect(l.retryAfter("k")).toBe(4);
    expect(l.retryAfter("other")).toBe(0);
    await clock.advance(2500);
    expect(l.retryAfter("k")).toBe(2);
    await clock.advance(1500);
    expect(l.retryAfter("k")).toBe(0);
  });

  it("forgets a key once its bucket is full again, and remembers at most maxKeys", async () => {
    const clock = new ManualClock(0);
    const l = new FailureLimiter(clock, { burst: 1, refillMs: 1000, maxKeys: 2 });
    l.fail("a");
    l.fail("b");
    l.fail("c");
    expect(l.size).toBe(2);
    expect(l.retryAfter("a")).toBe(0);
    expect(l.retryAfter("c")).toBe(1);
    await clock.advance(1000);
    expect(l.retryAfter("c")).toBe(0);
    expect(l.size).toBe(1);
  });

  it("refuses settings that would never let anything through", () => {
    expect(() => new FailureLimiter(new ManualClock(0), { burst: 0 })).toThrow(RangeError);
    expect(() => new FailureLimiter(new ManualClock(0), { refillMs: 0 })).toThrow(RangeError);
  });
});
