import { describe, expect, it } from "vitest";
import { ManualClock, sleep } from "../../src/kube/clock.ts";

describe("ManualClock", () => {
  it("fires timers in due order as time advances, and not before", async () => {
    const clock = new ManualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("b"), 200);
    clock.setTimeout(() => fired.push("a"), 100);
    const c = clock.setTimeout(() => fired.push("c"), 150);
    clock.clearTimeout(c);
    await clock.advance(99);
    expect(fired).toEqual([]);
    await clock.advance(101);
    expect(fired).toEqual(["a", "b"]);
    expect(clock.now()).toBe(1_200);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("fires timers scheduled by timers within the same advance", async () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 10);
    }, 10);
    await clock.advance(30);
    expect(fired).toEqual([10, 20]);
  });

  it("runs the next timer on demand", async () => {
    const clock = new ManualClock(0);
    let fired = false;
    clock.setTimeout(() => (fired = true), 5_000);
    expect(clock.nextDue()).toBe(5_000);
    expect(await clock.runNext()).toBe(true);
    expect(fired).toBe(true);
    expect(await clock.runNext()).toBe(false);
  });
});

describe("sleep", () => {
  it("resolves false after the delay and true when aborted first", async () => {
    const clock = new ManualClock(0);
    const done = sleep(clock, 100);
    await clock.advance(100);
    expect(await done).toBe(false);
    const abort = new AbortController();
    const interrupted = sleep(clock, 100, abort.signal);
    abort.abort();
    expect(await interrupted).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
    expect(await sleep(clock, 100, abort.signal)).toBe(true);
  });
});
