import { describe, expect, it } from "vitest";
import { DemoAbortedError, pause, waitUntil, WaitTimeoutError, type Probe } from "../../src/demo/index.ts";

/** A probe that answers the given results in turn. */
function sequence<T>(...results: (Probe<T> | Error)[]): () => Promise<Probe<T>> {
  let i = 0;
  return () => {
    const r = results[Math.min(i++, results.length - 1)]!;
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  };
}

describe("waitUntil", () => {
  it("resolves the value of the first probe that is done, counting a throwing probe as not done", async () => {
    const probe = sequence<string>({ done: false, state: "Ready=False" }, new Error("503 not ready"), { done: true, value: "ready" });
    expect(await waitUntil("the thing", probe, { timeoutMs: 60_000, intervalMs: 0 })).toBe("ready");
  });

  it("names what it waited for, the last state seen and the hint when the deadline passes", async () => {
    const error = await waitUntil("apikey reporting Ready", sequence({ done: false, state: "Ready=False (RotationPolicyNotFound)" }), {
      timeoutMs: 0,
      hint: "see controller.log",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect((error as Error).message).toBe("apikey reporting Ready: not within 0 ms; last seen: Ready=False (RotationPolicyNotFound)\nsee controller.log");
  });

  it("ends at once on an error the caller calls fatal", async () => {
    class Exited extends Error {}
    const probe = sequence<never>(new Exited("controller exited with code 1"));
    await expect(waitUntil("controller ready", probe, { timeoutMs: 60_000, fatal: (e) => e instanceof Exited })).rejects.toThrow("controller exited with code 1");
  });

  it("stops with DemoAbortedError when the signal aborts", async () => {
    const abort = new AbortController();
    const probe = (): Promise<Probe<never>> => {
      abort.abort();
      return Promise.resolve({ done: false, state: "waiting" });
    };
    await expect(waitUntil("x", probe, { timeoutMs: 60_000, signal: abort.signal })).rejects.toBeInstanceOf(DemoAbortedError);
  });
});

describe("pause", () => {
  it("rejects with DemoAbortedError when the signal aborts, before or during the pause", async () => {
    await expect(pause(60_000, AbortSignal.abort())).rejects.toBeInstanceOf(DemoAbortedError);
    const abort = new AbortController();
    const paused = pause(60_000, abort.signal);
    abort.abort();
    await expect(paused).rejects.toBeInstanceOf(DemoAbortedError);
  });
});
