import { describe, expect, it } from "vitest";
import { formatForPeople, formatElapsed, formatStep, formatSummary, Timeline, type StepRecord } from "../../src/demo/index.ts";

const plain = { color: false };

function step(over: Partial<StepRecord>): StepRecord {
  return { title: "a step", outcome: "pass", startMs: 0, endMs: 0, notes: [], checks: [], ...over };
}

/** A timeline on a clock that moves only when told. */
function frozen(): { timeline: Timeline; out: string[]; advance: (ms: number) => void } {
  let now = 1_000;
  const out: string[] = [];
  const timeline = new Timeline({ write: (t) => out.push(t), style: plain, now: () => now });
  return { timeline, out, advance: (ms) => { now += ms; } };
}

describe("formatForPeople and formatElapsed", () => {
  it("say milliseconds below a second, tenths of seconds below a minute, then minutes and seconds", () => {
    expect(formatForPeople(0)).toBe("0 ms");
    expect(formatForPeople(23.6)).toBe("24 ms");
    expect(formatForPeople(999)).toBe("999 ms");
    expect(formatForPeople(1_000)).toBe("1.0 s");
    expect(formatForPeople(59_940)).toBe("59.9 s");
    expect(formatForPeople(415_000)).toBe("6 min 55 s");
    expect(formatForPeople(-5)).toBe("0 ms");
  });

  it("right-align the time since the start in seven columns", () => {
    expect(formatElapsed(0)).toBe("   0.0s");
    expect(formatElapsed(12_345)).toBe("  12.3s");
    expect(formatElapsed(420_000)).toBe(" 420.0s");
  });
});

describe("formatStep", () => {
  it("prints the end time, the mark, the title and the duration, then notes, checks and the error", () => {
    const lines = formatStep(
      step({
        title: "4. rotation",
        outcome: "fail",
        startMs: 9_000,
        endMs: 12_100,
        notes: ["new key Dsetfr5r published"],
        checks: [
          { ok: true, text: "GET /x with the old token → 200, 2 ms" },
          { ok: false, text: "GET /x with the new token → 401 (expected 200), 1 ms" },
        ],
        error: "the verifier did not load generation 7\nsee verifier.log",
      }),
      plain,
    );
    expect(lines).toEqual([
      "  12.1s  ✗ 4. rotation  (3.1 s)",
      "           new key Dsetfr5r published",
      "           ✓ GET /x with the old token → 200, 2 ms",
      "           ✗ GET /x with the new token → 401 (expected 200), 1 ms",
      "           the verifier did not load generation 7",
      "             see verifier.log",
    ]);
  });

  it("marks a step that was not run, and says why", () => {
    expect(formatStep(step({ title: "5. revoke", outcome: "skip", startMs: 3_000, endMs: 3_000, error: "interrupted" }), plain)).toEqual([
      "   3.0s  – 5. revoke  (not run)",
      "           interrupted",
    ]);
  });

  it("colours the marks only when asked", () => {
    const [line] = formatStep(step({ title: "t", endMs: 5 }), { color: true });
    expect(line).toContain("\u001b[32m✓\u001b[0m");
    expect(formatStep(step({ title: "t" }), plain).join("")).not.toContain("\u001b[");
  });
});

describe("formatSummary", () => {
  it("counts steps and checks, and names the failed steps", () => {
    const steps = [
      step({ title: "one", checks: [{ ok: true, text: "" }] }),
      step({ title: "two", outcome: "fail", checks: [{ ok: true, text: "" }, { ok: false, text: "" }] }),
      step({ title: "three", outcome: "skip" }),
      step({ title: "four", outcome: "skip" }),
    ];
    expect(formatSummary(steps, 10_400, plain)).toEqual(["✗ 1 of 4 steps passed, 2 of 3 checks, in 10.4 s", "  ✗ two", "  – 2 steps not run"]);
  });

  it("is one line when everything passed", () => {
    expect(formatSummary([step({ checks: [{ ok: true, text: "" }] }), step({})], 900, plain)).toEqual(["✓ 2 of 2 steps passed, 1 of 1 checks, in 900 ms"]);
  });
});

describe("Timeline", () => {
  it("times each step on its clock and prints it when it ends", async () => {
    const { timeline, out, advance } = frozen();
    advance(1_500);
    const passed = await timeline.step("control plane", (s) => {
      advance(3_400);
      s.retitle("control plane running at https://127.0.0.1:1");
      s.note("ready in 3.4 s");
      return Promise.resolve();
    });
    expect(passed).toBe(true);
    expect(out.join("")).toBe("   4.9s  ✓ control plane running at https://127.0.0.1:1  (3.4 s)\n           ready in 3.4 s\n");
    expect(timeline.records[0]).toMatchObject({ startMs: 1_500, endMs: 4_900, outcome: "pass" });
  });

  it("fails a step on a failed check but runs it to the end", async () => {
    const { timeline } = frozen();
    let after = false;
    const passed = await timeline.step("requests", (s) => {
      s.check(false, "GET / → 500 (expected 200)");
      after = s.check(true, "GET /other → 200");
      return Promise.resolve();
    });
    expect(passed).toBe(false);
    expect(after).toBe(true);
    expect(timeline.ok()).toBe(false);
    expect(timeline.records[0]?.checks).toHaveLength(2);
  });

  it("fails a step that throws, showing the message", async () => {
    const { timeline, out } = frozen();
    expect(await timeline.step("controller", () => Promise.reject(new Error("controller exited with code 1")))).toBe(false);
    expect(out.join("")).toContain("✗ controller  (0 ms)\n           controller exited with code 1\n");
    expect(timeline.records[0]?.error).toBe("controller exited with code 1");
  });

  it("records skipped steps, which make the run not ok", () => {
    const { timeline, out } = frozen();
    timeline.skip("6. revoke all", "the setup did not complete");
    expect(timeline.ok()).toBe(false);
    expect(out.join("")).toContain("– 6. revoke all  (not run)\n           the setup did not complete\n");
  });

  it("prints progress lines at once, with the time, before the step that runs", async () => {
    const { timeline, out, advance } = frozen();
    await timeline.step("binaries", () => {
      advance(61_000);
      timeline.progress("building kube-apiserver");
      return Promise.resolve();
    });
    expect(out[0]).toBe("  61.0s  │ building kube-apiserver\n");
    expect(out[1]).toContain("✓ binaries");
  });
});
