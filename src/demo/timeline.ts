// The demo's timeline: each step with ✓ or ✗, the time since the demo started when it ended,
// how long it took, its notes and the checks it made. Printed as each step ends, so a long
// step (the first build of the control plane) shows progress lines in between.

export type Outcome = "pass" | "fail" | "skip";

export interface CheckRecord {
  ok: boolean;
  /** What was checked and what was seen, e.g. "GET /api/v0/profiles/42 without a token → 401 (expected 401), 3 ms". */
  text: string;
}

export interface StepRecord {
  title: string;
  outcome: Outcome;
  /** Milliseconds since the demo started, when the step began and ended. */
  startMs: number;
  endMs: number;
  notes: string[];
  checks: CheckRecord[];
  /** Why the step failed or was skipped, when not through a check. */
  error?: string | undefined;
}

export interface Style {
  color: boolean;
}

export interface StepContext {
  /** A line of explanation under the step (what happened, what was measured). */
  note(text: string): void;
  /** An expectation; a failed one fails the step, and the step goes on. */
  check(ok: boolean, text: string): boolean;
  /** Replaces the title, once the step knows more (e.g. how many objects it applied). */
  retitle(title: string): void;
}

const ANSI = { green: "\u001b[32m", red: "\u001b[31m", yellow: "\u001b[33m", dim: "\u001b[2m", bold: "\u001b[1m", reset: "\u001b[0m" } as const;

function paint(style: Style, code: keyof typeof ANSI, text: string): string {
  return style.color ? `${ANSI[code]}${text}${ANSI.reset}` : text;
}

/** Seconds since the start, one decimal, right-aligned in 7 columns: "   12.3s". */
export function formatElapsed(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`.padStart(7);
}

/** A duration for people: "4 ms", "850 ms", "1.2 s", "7 min 03 s". */
export function formatForPeople(ms: number): string {
  const v = Math.max(0, ms);
  if (v < 1_000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)} s`;
  const seconds = Math.round(v / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
}

const MARK: Record<Outcome, { text: string; color: keyof typeof ANSI }> = {
  pass: { text: "✓", color: "green" },
  fail: { text: "✗", color: "red" },
  skip: { text: "–", color: "yellow" },
};

/** Column where notes and checks start (under the step title). */
const INDENT = " ".repeat(11);

/** The lines of one step: "   12.3s  ✓ title  (2.1 s)", then its notes, checks and error. */
export function formatStep(step: StepRecord, style: Style): string[] {
  const mark = MARK[step.outcome];
  const took = step.outcome === "skip" ? "not run" : formatForPeople(step.endMs - step.startMs);
  const lines = [`${formatElapsed(step.endMs)}  ${paint(style, mark.color, mark.text)} ${step.title}  ${paint(style, "dim", `(${took})`)}`];
  for (const note of step.notes) lines.push(`${INDENT}${paint(style, "dim", note)}`);
  for (const check of step.checks) {
    const m = check.ok ? MARK.pass : MARK.fail;
    lines.push(`${INDENT}${paint(style, m.color, m.text)} ${check.text}`);
  }
  if (step.error !== undefined) {
    const [first = "", ...rest] = step.error.split("\n");
    lines.push(`${INDENT}${paint(style, step.outcome === "skip" ? "yellow" : "red", first)}`);
    for (const line of rest) lines.push(`${INDENT}  ${line}`);
  }
  return lines;
}

/** The closing lines: how many steps passed, and in how much time. */
export function formatSummary(steps: readonly StepRecord[], totalMs: number, style: Style): string[] {
  const failed = steps.filter((s) => s.outcome === "fail");
  const skipped = steps.filter((s) => s.outcome === "skip");
  const passed = steps.length - failed.length - skipped.length;
  const checks = steps.reduce((n, s) => n + s.checks.length, 0);
  const failedChecks = steps.reduce((n, s) => n + s.checks.filter((c) => !c.ok).length, 0);
  const checkCount = checks === 0 ? "" : `, ${checks - failedChecks} of ${checks} checks`;
  const counts = `${passed} of ${steps.length} steps passed${checkCount}, in ${formatForPeople(totalMs)}`;
  if (failed.length === 0 && skipped.length === 0) return [paint(style, "green", `✓ ${counts}`)];
  const lines = [paint(style, "red", `✗ ${counts}`)];
  for (const s of failed) lines.push(`  ${paint(style, "red", "✗")} ${s.title}`);
  if (skipped.length > 0) lines.push(`  ${paint(style, "yellow", "–")} ${skipped.length} ${skipped.length === 1 ? "step" : "steps"} not run`);
  return lines;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export interface TimelineOptions {
  write: (text: string) => void;
  style: Style;
  /** Milliseconds on a monotonic clock; default performance.now(). */
  now?: () => number;
}

export class Timeline {
  readonly records: StepRecord[] = [];
  readonly style: Style;
  readonly #write: (text: string) => void;
  readonly #now: () => number;
  readonly #start: number;

  constructor(opts: TimelineOptions) {
    this.#write = opts.write;
    this.style = opts.style;
    this.#now = opts.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** Milliseconds since the timeline started. */
  elapsed(): number {
    return this.#now() - this.#start;
  }

  /** Whether every step so far passed (none failed or was skipped). */
  ok(): boolean {
    return this.records.every((r) => r.outcome === "pass");
  }

  /** Prints a line as it is (headings, instructions). */
  print(line = ""): void {
    this.#write(`${line}\n`);
  }

  /** Prints a progress line of the step running now, with the time (e.g. a line of the binaries' build). */
  progress(line: string): void {
    this.#write(`${formatElapsed(this.elapsed())}  ${paint(this.style, "dim", `│ ${line}`)}\n`);
  }

  /**
   * Runs a step and prints it when it ends. An exception fails the step (its message is
   * shown); failed checks fail it too. Resolves whether the step passed.
   */
  async step(title: string, run: (step: StepContext) => Promise<void>): Promise<boolean> {
    const record: StepRecord = { title, outcome: "pass", startMs: this.elapsed(), endMs: 0, notes: [], checks: [] };
    const ctx: StepContext = {
      note: (text) => {
        record.notes.push(text);
      },
      check: (ok, text) => {
        record.checks.push({ ok, text });
        if (!ok) record.outcome = "fail";
        return ok;
      },
      retitle: (t) => {
        record.title = t;
      },
    };
    try {
      await run(ctx);
    } catch (error) {
      record.outcome = "fail";
      record.error = messageOf(error).trimEnd();
    }
    record.endMs = this.elapsed();
    this.records.push(record);
    for (const line of formatStep(record, this.style)) this.#write(`${line}\n`);
    return record.outcome === "pass";
  }

  /** Records and prints a step that was not run, and why. */
  skip(title: string, reason: string): void {
    const now = this.elapsed();
    const record: StepRecord = { title, outcome: "skip", startMs: now, endMs: now, notes: [], checks: [], error: reason };
    this.records.push(record);
    for (const line of formatStep(record, this.style)) this.#write(`${line}\n`);
  }

  summary(): string[] {
    return formatSummary(this.records, this.elapsed(), this.style);
  }
}
