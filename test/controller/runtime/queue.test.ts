import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WorkQueue } from "../../../src/controller/runtime/queue.ts";
import { ManualClock, MAX_TIMER_DELAY_MS, settle } from "../../../src/kube/clock.ts";

function queue(opts: { baseMs?: number; maxMs?: number } = {}): { q: WorkQueue; clock: ManualClock } {
  const clock = new ManualClock();
  return { q: new WorkQueue({ clock, backoff: { baseMs: opts.baseMs ?? 10, maxMs: opts.maxMs ?? 1_000 } }), clock };
}

describe("WorkQueue", () => {
  it("hands out keys in the order they were first added, each once however often added", async () => {
    const { q } = queue();
    q.add("a");
    q.add("b");
    q.add("a");
    q.add("c");
    q.add("b");
    expect(q.len()).toBe(3);
    expect([await q.get(), await q.get(), await q.get()]).toEqual(["a", "b", "c"]);
    expect(q.len()).toBe(0);
  });

  it("does not hand out a key being processed; one added meanwhile is queued again once done", async () => {
    const { q } = queue();
    q.add("a");
    const first = await q.get();
    expect(first).toBe("a");
    q.add("a");
    q.add("a");
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await settle();
    expect(second).toBeUndefined();
    q.done("a");
    await settle();
    expect(second).toBe("a");
    expect(q.isProcessing("a")).toBe(true);
  });

  it("never lets two workers hold one key at once (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.record({ op: fc.constant("add" as const), key: fc.constantFrom("a", "b", "c") }), fc.record({ op: fc.constant("work" as const), worker: fc.nat(2) })), {
          maxLength: 60,
        }),
        async (ops) => {
          const { q } = queue();
          const held: Array<string | undefined> = [undefined, undefined, undefined];
          for (const step of ops) {
            if (step.op === "add") {
              q.add(step.key);
              continue;
            }
            const current = held[step.worker];
            if (current !== undefined) {
              q.done(current);
              held[step.worker] = undefined;
            } else if (q.len() > 0) {
              const key = (await q.get())!;
              expect(held).not.toContain(key);
              held[step.worker] = key;
            }
          }
          // Whatever is still queued is distinct and not held.
          const rest: string[] = [];
          while (q.len() > 0) rest.push((await q.get())!);
          expect(new Set(rest).size).toBe(rest.length);
          for (const k of rest) expect(held).not.toContain(k);
        },
      ),
    );
  });

  it("grows the backoff of a failing key exponentially up to the maximum and resets it on forget", () => {
    const { q } = queue({ baseMs: 10, maxMs: 100 });
    expect([q.addRateLimited("a"), q.addRateLimited("a"), q.addRateLimited("a"), q.addRateLimited("a"), q.addRateLimited("a")]).toEqual([10, 20, 40, 80, 100]);
    expect(q.numRequeues("a")).toBe(5);
    expect(q.addRateLimited("b")).toBe(10);
    q.forget("a");
    expect(q.numRequeues("a")).toBe(0);
    expect(q.addRateLimited("a")).toBe(10);
  });

  it("makes a rate-limited key ready only after its delay on the clock", async () => {
    const { q, clock } = queue({ baseMs: 50 });
    q.addRateLimited("a");
    q.addRateLimited("a"); // the earlier due time (50 ms) wins
    await clock.advance(49);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(q.delayedCount()).toBe(0);
  });

  it("releases addAfter keys in order of their due time, the earliest request per key winning", async () => {
    const { q, clock } = queue();
    q.addAfter("late", 300);
    q.addAfter("early", 100);
    q.addAfter("middle", 200);
    q.addAfter("late", 500); // later than the pending 300: ignored
    q.addAfter("middle", 150); // earlier: wins
    const order: string[] = [];
    for (const step of [100, 50, 150]) {
      await clock.advance(step);
      while (q.len() > 0) order.push((await q.get())!);
    }
    expect(order).toEqual(["early", "middle", "late"]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("keeps a key delayed beyond the longest Node timer waiting until it is due, arming the clock for at most that long at a time", async () => {
    const { q, clock } = queue();
    const thirtyDays = 30 * 24 * 3_600_000;
    q.addAfter("far", thirtyDays);
    expect(clock.nextDue()).toBe(clock.now() + MAX_TIMER_DELAY_MS);
    await clock.advance(MAX_TIMER_DELAY_MS);
    expect(q.len()).toBe(0);
    expect(q.delayedCount()).toBe(1);
    await clock.advance(thirtyDays - MAX_TIMER_DELAY_MS - 1);
    expect(q.len()).toBe(0);
    await clock.advance(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe("far");
  });

  it("adds at once when addAfter gets no positive delay", () => {
    const { q } = queue();
    q.addAfter("a", 0);
    q.addAfter("b", -5);
    expect(q.len()).toBe(2);
  });

  it("wakes a waiting worker when a key arrives", async () => {
    const { q, clock } = queue();
    let got: string | undefined;
    void q.get().then((k) => (got = k));
    await settle();
    expect(got).toBeUndefined();
    q.addAfter("a", 10);
    await clock.advance(10);
    expect(got).toBe("a");
  });

  it("on shutdown drops queued and delayed keys, ignores new ones, and resolves when in-flight keys are done", async () => {
    const { q, clock } = queue();
    q.add("a");
    q.add("b");
    q.addAfter("c", 10);
    const inFlight = (await q.get())!;
    let stopped = false;
    const shutdown = q.shutDown().then(() => (stopped = true));
    q.add("d");
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
    await clock.advance(10);
    expect(q.len()).toBe(0);
    await settle();
    expect(stopped).toBe(false);
    q.done(inFlight);
    await shutdown;
    expect(stopped).toBe(true);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("with drain, keeps handing out queued keys until none is left, then resolves", async () => {
    const { q } = queue();
    q.add("a");
    q.add("b");
    const a = (await q.get())!;
    q.add(a); // dirty while processing: requeued on done, even while draining
    let stopped = false;
    const shutdown = q.shutDown({ drain: true }).then(() => (stopped = true));
    const b = (await q.get())!;
    expect(b).toBe("b");
    q.done(a);
    expect(await q.get()).toBe("a");
    q.done(b);
    q.done("a");
    await shutdown;
    expect(stopped).toBe(true);
    expect(await q.get()).toBeUndefined();
  });

  it("answers waiting workers with undefined on shutdown", async () => {
    const { q } = queue();
    const waiting = [q.get(), q.get()];
    await q.shutDown();
    expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
  });

  it("refuses a backoff whose base is not positive or whose maximum is below the base", () => {
    expect(() => new WorkQueue({ backoff: { baseMs: 0 } })).toThrow(RangeError);
    expect(() => new WorkQueue({ backoff: { baseMs: 100, maxMs: 10 } })).toThrow(/baseMs <= maxMs/);
  });
});
