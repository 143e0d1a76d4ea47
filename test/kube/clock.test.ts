import { afterEach, describe, expect, it, vi } from "vitest";
import { ManualClock, MAX_TIMER_DELAY_MS, sleep, systemClock, timerDelay } from "../../src/kube/clock.ts";

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

describe("systemClock", () => {
  const DAY = 24 * 3_600_000;

  afterEach(() => {
    vi.useRealTimers();
  });

  it("does not fire a timer longer than 2^31 - 1 ms early: it fires once its whole delay has passed", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let fired = 0;
    systemClock.setTimeout(() => fired++, 60 * DAY);
    vi.advanceTimersByTime(1_000);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(MAX_TIMER_DELAY_MS);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(60 * DAY - MAX_TIMER_DELAY_MS - 1_000 - 1);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(100 * DAY);
    expect(fired).toBe(1);
  });

  it("cancels a long timer in any of its steps", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    let fired = 0;
    const handle = systemClock.setTimeout(() => fired++, 40 * DAY);
    vi.advanceTimersByTime(30 * DAY);
    systemClock.clearTimeout(handle);
    vi.advanceTimersByTime(30 * DAY);
    expect(fired).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("fires short and negative delays as Node does", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const fired: string[] = [];
    systemClock.setTimeout(() => fired.push("later"), 50);
    systemClock.setTimeout(() => fired.push("now"), -5);
    vi.advanceTimersByTime(0);
    expect(fired).toEqual(["now"]);
    vi.advanceTimersByTime(50);
    expect(fired).toEqual(["now", "later"]);
  });
});

describe("timerDelay", () => {
  it("bounds a delay to what a Node timer keeps", () => {
    expect(timerDelay(-1)).toBe(0);
    expect(timerDelay(Number.NaN)).toBe(0);
    expect(timerDelay(1_500)).toBe(1_500);
    expect(timerDelay(MAX_TIMER_DELAY_MS)).toBe(MAX_TIMER_DELAY_MS);
    expect(timerDelay(MAX_TIMER_DELAY_MS + 1)).toBe(MAX_TIMER_DELAY_MS);
    expect(timerDelay(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_DELAY_MS);
  });
});
