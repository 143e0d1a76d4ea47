// Last-resort cleanup of running control planes when the process is interrupted
// (SIGINT, SIGTERM, SIGHUP) or exits without having called stop().

export interface Stoppable {
  stop(): Promise<void>;
  /** Synchronous best effort: SIGKILL everything and remove files. */
  killNow(): void;
}

const running = new Set<Stoppable>();
const SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

function onExit(): void {
  for (const item of running) item.killNow();
  running.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  const items = [...running];
  void Promise.allSettled(items.map((item) => item.stop())).then(() => {
    // If nobody else handles this signal, die of it as the default action would.
    uninstall();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off("exit", onExit);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

export function track(item: Stoppable): void {
  running.add(item);
  install();
}

export function untrack(item: Stoppable): void {
  running.delete(item);
  if (running.size === 0) uninstall();
}
