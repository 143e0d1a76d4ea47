// The demo from start to end: the setup steps, the scenario through the verifier, with --keep
// a pause until Ctrl-C, and a teardown that leaves nothing behind, also when interrupted.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DemoOptions } from "./args.ts";
import { HttpProbe } from "./http.ts";
import { Supervisor } from "./processes.ts";
import { Scenario, SCENARIO_TITLES, type ScenarioStep } from "./scenario.ts";
import { keepInstructions, setupSteps, tearDown, type SetupContext } from "./setup.ts";
import { Timeline, type StepContext, type StepRecord } from "./timeline.ts";
import { DemoAbortedError } from "./wait.ts";

export interface DemoIO {
  /** Where the timeline goes. */
  write: (text: string) => void;
  color: boolean;
  /** Aborts the demo (Ctrl-C): waits stop, everything is cleaned up. */
  signal?: AbortSignal | undefined;
  /** With --keep: resolves when the demo should stop (default: when `signal` aborts). */
  untilStopped?: () => Promise<void>;
}

export interface DemoResult {
  /** Every step passed and the demo was not interrupted. */
  ok: boolean;
  interrupted: boolean;
  steps: StepRecord[];
  totalMs: number;
  /** The demo's temporary directory (removed by the time runDemo resolves). */
  dir: string;
  /** The process ids of the controller and the verifier (gone by the time runDemo resolves). */
  pids: number[];
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal === undefined) return; // nothing can stop it: wait forever, as asked
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => { resolve(); }, { once: true });
  });
}

export async function runDemo(options: DemoOptions, io: DemoIO): Promise<DemoResult> {
  const timeline = new Timeline({ write: io.write, style: { color: io.color } });
  const signal = io.signal;
  const dir = mkdtempSync(join(options.workDir ?? tmpdir(), "keyward-demo-"));
  const supervisor = new Supervisor({ dir });
  const ctx: SetupContext = { options, dir, timeline, supervisor, signal, world: { existing: options.cluster.kind === "existing", createdClusterObjects: [] } };
  const { world } = ctx;
  // A process exit we did not get to clean up for (a second Ctrl-C): kill, remove, at once.
  const killOnExit = (): void => {
    supervisor.killNow();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", killOnExit);
  const interruptedNow = (): boolean => signal?.aborted === true;

  timeline.print(`keyward demo: the controller and a verifier on ${world.existing ? "an existing cluster" : "a local control plane"}, tenant namespace ${options.namespace}`);
  timeline.print(`files and logs in ${dir}${options.keep ? "" : " (removed at the end)"}`);
  timeline.print("each step: the time since the start when it ended, ✓ or ✗, what it did, and how long it took");
  timeline.print();

  /** A step cut short by Ctrl-C says so, rather than how the interruption broke it. */
  const run = (step: (s: StepContext) => Promise<void>) => async (s: StepContext): Promise<void> => {
    try {
      await step(s);
    } catch (error) {
      throw interruptedNow() ? new DemoAbortedError() : error;
    }
  };

  let ready = true;
  for (const step of setupSteps(ctx)) {
    if (!ready || interruptedNow()) timeline.skip(step.title, interruptedNow() ? "interrupted" : "an earlier step failed");
    else ready = await timeline.step(step.title, run(step.run));
  }

  const verifier = world.verifierUrl === undefined ? undefined : new HttpProbe(world.verifierUrl);
  const verifierAdmin = world.verifierAdminUrl === undefined ? undefined : new HttpProbe(world.verifierAdminUrl);
  let steps: ScenarioStep[] = SCENARIO_TITLES.map((title) => ({ title, run: () => Promise.resolve() }));
  if (ready && world.client !== undefined && verifier !== undefined) {
    steps = new Scenario({
      client: world.client,
      namespace: options.namespace,
      verifier,
      verifierAdmin,
      upstream: world.upstream,
      timeoutMs: options.timeoutMs,
      revocationBudgetMs: options.revocationBudgetMs,
      signal,
      logHint: `see the logs: ${[world.controllerLog, world.verifierLog].filter((x) => x !== undefined).join(", ")}`,
    }).steps();
  }
  timeline.print();
  timeline.print(`requests through the verifier${world.verifierUrl === undefined ? "" : ` at ${world.verifierUrl}`}:`);
  for (const step of steps) {
    if (!ready || interruptedNow()) timeline.skip(step.title, interruptedNow() ? "interrupted" : "the setup did not complete");
    else await timeline.step(step.title, run(step.run));
  }
  verifier?.close();
  verifierAdmin?.close();
  // With --keep, Ctrl-C from here on is the way to stop, not an interruption.
  const interrupted = interruptedNow();

  if (!timeline.ok() && !interrupted) {
    for (const child of supervisor.children) {
      const tail = child.tail(15);
      if (tail === "") continue;
      timeline.print();
      timeline.print(`the end of the ${child.name}'s log (${child.logPath}):`);
      for (const line of tail.split("\n")) timeline.print(`  ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`);
    }
  }

  if (options.keep && !interrupted && world.kubeconfigPath !== undefined) {
    timeline.print();
    for (const line of keepInstructions(ctx)) timeline.print(line);
    await (io.untilStopped ?? (() => aborted(signal)))();
    timeline.print();
  }

  const pids = supervisor.children.map((c) => c.pid);
  await timeline.step("cleaned up", (s) => tearDown(ctx, s));
  process.off("exit", killOnExit);

  timeline.print();
  for (const line of timeline.summary()) timeline.print(line);
  if (interrupted) timeline.print("interrupted");
  return { ok: timeline.ok() && !interrupted, interrupted, steps: [...timeline.records], totalMs: timeline.elapsed(), dir, pids };
}
