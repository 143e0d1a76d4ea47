// The demo's child processes: the real keyward CLI (`node src/cli/main.ts controller …`,
// `… verifier …`), each in its own process group with its output in a log file, watched for an
// early exit while we wait for its health endpoint, and stopped in reverse order at the end. A
// watchdog process kills them and removes the demo's directory should the demo itself be
// killed without a chance to clean up.

import { join } from "node:path";
import { REPO_ROOT, startProcess, startReaper, type ManagedProcess, type Reaper } from "../controlplane/index.ts";
import type { HttpProbe } from "./http.ts";
import { waitUntil } from "./wait.ts";

/** The keyward CLI, run from source by Node's type stripping. */
export const KEYWARD_CLI = join(REPO_ROOT, "src", "cli", "main.ts");

export interface SupervisorOptions {
  /** Where the log files go; removed by the watchdog if the demo dies. */
  dir: string;
  /** The program and leading arguments of every child (default: this Node running the keyward CLI). */
  command?: readonly string[];
  /** SIGTERM, then SIGKILL after this long (default 10 s). */
  stopGraceMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface HealthWaitOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** The answer that counts as healthy (default: status 200). */
  healthy?: (status: number, body: string) => boolean;
}

/** A child that exited while we waited for it. */
export class ChildExitedError extends Error {
  override readonly name = "ChildExitedError";
  readonly code = "ERR_DEMO_CHILD_EXITED";
}

export class Supervisor {
  readonly dir: string;
  readonly #command: readonly string[];
  readonly #stopGraceMs: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #children: ManagedProcess[] = [];
  #reaper: Reaper | undefined;

  constructor(opts: SupervisorOptions) {
    this.dir = opts.dir;
    this.#command = opts.command ?? [process.execPath, KEYWARD_CLI];
    this.#stopGraceMs = opts.stopGraceMs ?? 10_000;
    this.#env = opts.env ?? process.env;
  }

  get children(): readonly ManagedProcess[] {
    return this.#children;
  }

  /** Starts `<command> …args` with its output in `<dir>/<name>.log`. */
  start(name: string, args: readonly string[]): ManagedProcess {
    this.#reaper ??= startReaper({ removeDir: this.dir });
    const [program, ...lead] = this.#command;
    if (program === undefined) throw new Error("Supervisor: the command is empty");
    const child = startProcess({ name, command: program, args: [...lead, ...args], logPath: join(this.dir, `${name}.log`), cwd: REPO_ROOT, env: this.#env });
    this.#children.push(child);
    this.#reaper.watch(child.pid);
    return child;
  }

  /**
   * Polls a health endpoint until it answers as healthy. Fails at once, with the exit status and
   * the end of the log, if the child exits first.
   */
  async waitHealthy(child: ManagedProcess, probe: HttpProbe, path: string, opts: HealthWaitOptions): Promise<string> {
    const healthy = opts.healthy ?? ((status) => status === 200);
    return waitUntil(
      `${child.name}: GET ${probe.baseUrl}${path}`,
      async () => {
        if (child.hasExited()) {
          const exit = await child.exited;
          const how = exit.error !== undefined ? `could not start: ${exit.error.message}` : exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
          throw new ChildExitedError(`${child.name} ${how}; the end of ${child.logPath}:\n${child.tail(20)}`);
        }
        const answer = await probe.send({ path }, opts.signal);
        if (healthy(answer.status, answer.body)) return { done: true, value: answer.body };
        return { done: false, state: `${answer.status} ${answer.body.trim().slice(0, 200)}` };
      },
      { timeoutMs: opts.timeoutMs, signal: opts.signal, intervalMs: 100, hint: `see ${child.logPath}`, fatal: (e) => e instanceof ChildExitedError },
    );
  }

  /** Stops every child, the last started first, then releases the watchdog. Idempotent. */
  async stopAll(): Promise<void> {
    for (const child of [...this.#children].reverse()) await child.stop(this.#stopGraceMs);
    await this.#reaper?.release();
    this.#reaper = undefined;
  }

  /** Synchronous last resort (process exit): SIGKILL every child's process group. */
  killNow(): void {
    for (const child of this.#children) {
      if (child.hasExited() || child.pid <= 0) continue;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}
