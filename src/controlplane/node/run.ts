// Runs the short host commands a node needs (ip, mount, umount, ctr) and turns a
// failure into an error that names the command and what it printed.
import { execFileSync } from "node:child_process";

export class HostCommandError extends Error {
  override readonly name = "HostCommandError";
}

/** Runs `command args…` to completion and returns its stdout; throws HostCommandError on a non-zero exit. */
export function run(command: string, args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  try {
    return execFileSync(command, args, {
      encoding: "utf8",
      input: opts.input,
      timeout: opts.timeoutMs ?? 30_000,
      stdio: ["pipe", "pipe", "pipe"],
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string; status?: number | null };
    if (e.code === "ENOENT") throw new HostCommandError(`${command} is not installed (needed to run a local node)`, { cause: error });
    const stderr = (e.stderr ?? "").trim();
    throw new HostCommandError(`${command} ${args.join(" ")} failed (exit ${e.status ?? "signal"})${stderr === "" ? "" : `: ${stderr}`}`, { cause: error });
  }
}

/** Like run, but a failure is returned as false instead of thrown (clean-up steps that may find nothing to do). */
export function tryRun(command: string, args: readonly string[]): boolean {
  try {
    run(command, args);
    return true;
  } catch {
    return false;
  }
}
