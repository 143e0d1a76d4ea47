import { describe, expect, it } from "vitest";
import { aborted, stopSignalOf } from "../../src/lib/stop.ts";

describe("stopSignalOf", () => {
  it("uses the caller's signal when one is given and listens to no process signal", () => {
    const given = new AbortController();
    const before = process.listenerCount("SIGTERM");
    const stop = stopSignalOf({ stopSignal: given.signal });
    expect(stop.signal).toBe(given.signal);
    expect(process.listenerCount("SIGTERM")).toBe(before);
    stop.dispose();
  });

  it("aborts on SIGTERM with the signal's name as the reason", () => {
    const stop = stopSignalOf({});
    // The listener it added, called as the process would (emitting SIGTERM here would reach the test runner's own).
    const onSigterm = process.listeners("SIGTERM").at(-1) as (name: NodeJS.Signals) => void;
    onSigterm("SIGTERM");
    expect(stop.signal.aborted).toBe(true);
    expect(stop.signal.reason).toBe("SIGTERM");
    stop.dispose();
  });

  it("stops listening to SIGTERM and SIGINT once disposed", () => {
    const term = process.listenerCount("SIGTERM");
    const int = process.listenerCount("SIGINT");
    const stop = stopSignalOf({});
    expect(process.listenerCount("SIGTERM")).toBe(term + 1);
    expect(process.listenerCount("SIGINT")).toBe(int + 1);
    stop.dispose();
    expect(process.listenerCount("SIGTERM")).toBe(term);
    expect(process.listenerCount("SIGINT")).toBe(int);
    expect(stop.signal.aborted).toBe(false);
  });
});

describe("aborted", () => {
  it("resolves at once for a signal that has already aborted", async () => {
    await expect(aborted(AbortSignal.abort())).resolves.toBeUndefined();
  });

  it("resolves when the signal aborts later", async () => {
    const ac = new AbortController();
    let done = false;
    const waiting = aborted(ac.signal).then(() => { done = true; });
    await Promise.resolve();
    expect(done).toBe(false);
    ac.abort();
    await waiting;
    expect(done).toBe(true);
  });
});
