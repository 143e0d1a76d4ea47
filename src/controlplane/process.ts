// Child processes of a control plane: started detached (their own process group,
// so a Ctrl-C in the terminal reaches us first and we stop them in order), output
// appended to a log file, stopped with SIGTERM then SIGKILL after a deadline.
import { spawn } from "node:child_process";
import { closeSync, openSync, readSync, fstatSync } from "node:fs";

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  error?: Error;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  readonly exited: Promise<ProcessExit>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL once graceMs has passed; resolves when the process is gone. */
  stop(graceMs: number): Promise<ProcessExit>;
  /** The last lines of the process's log. */
  tail(lines?: number): string;
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args: readonly string[];
  logPath: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run inside this network namespace (a path such as /run/netns/NAME), through nsenter. */
  netnsPath?: string;
}

/** The last `lines` lines of a text file (reads at most its last 64 KiB). */
export function tailFile(path: string, lines = 40): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return "";
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString("utf8").split("\n").filter((l) => l !== "").slice(-lines).join("\n");
  } finally {
    closeSync(fd);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // the whole group the detached child leads
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function startProcess(opts: StartProcessOptions): ManagedProcess {
  const logFd = openSync(opts.logPath, "a");
  let child;
  try {
    // nsenter joins the namespace and execs the command: the pid stays the command's own.
    const [command, args] =
      opts.netnsPath === undefined ? [opts.command, opts.args] : ["nsenter", [`--net=${opts.netnsPath}`, "--", opts.command, ...opts.args]];
    child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ["ignore", logFd, logFd],
    });
  } finally {
    closeSync(logFd);
  }
  let exitInfo: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("error", (error) => {
      exitInfo ??= { code: null, signal: null, error };
      resolve(exitInfo);
    });
    child.once("exit", (code, signal) => {
      exitInfo ??= { code, signal };
      resolve(exitInfo);
    });
  });
  const pid = child.pid ?? -1;
  let stopping: Promise<ProcessExit> | undefined;
  return {
    name: opts.name,
    pid,
    logPath: opts.logPath,
    exited,
    hasExited: () => exitInfo !== undefined,
    tail: (lines) => tailFile(opts.logPath, lines),
    stop(graceMs: number): Promise<ProcessExit> {
      if (exitInfo !== undefined) return Promise.resolve(exitInfo);
      stopping ??= (async () => {
        signalGroup(pid, "SIGTERM");
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            signalGroup(pid, "SIGKILL");
            resolve();
          }, graceMs);
        });
        await Promise.race([exited, killed]);
        clearTimeout(timer);
        return exited;
      })();
      return stopping;
    },
  };
}

/** Sends SIGKILL to the process group synchronously (for `process.on("exit")`). */
export function killNow(proc: ManagedProcess): void {
  if (!proc.hasExited() && proc.pid > 0) signalGroup(proc.pid, "SIGKILL");
}

/** Whether a process with this pid exists (and is not a zombie we could still reap). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
