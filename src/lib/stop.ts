// Stopping a long-running command: on SIGTERM or SIGINT, or on a signal its caller hands in.

/** An AbortSignal that aborts on SIGTERM or SIGINT (or is `stopSignal` when given), and a cleanup. */
export function stopSignalOf(io: { stopSignal?: AbortSignal | undefined }): { signal: AbortSignal; dispose: () => void } {
  if (io.stopSignal !== undefined) return { signal: io.stopSignal, dispose: () => undefined };
  const ac = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => { ac.abort(name); };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    },
  };
}

/** Resolves once `signal` has aborted. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => { signal.addEventListener("abort", () => { resolve(); }, { once: true }); });
}
