// What a reconcile tells the controller to do next, in the spirit of
// controller-runtime's Result and TerminalError and kube-rs's Action:
//
//   Outcome.done()               converged: reconcile again on the next change (or resync)
//   Outcome.requeueAfter(ms)     scheduled work: reconcile again after ms (a rotation, a renewal)
//   Outcome.backoff(reason)      not converged, and retrying is the fix: requeue with the key's
//                                exponential back-off (base doubling to a cap, reset by the next
//                                success), without counting an error
//   throw err                    a failure: the controller's errorPolicy (default: back off)
//   throw new TerminalError(...) a failure retrying cannot fix: logged and counted, not requeued;
//                                the next change of the object wakes it again

export type Outcome =
  | { readonly action: "done" }
  | { readonly action: "requeue"; readonly afterMs: number }
  | { readonly action: "backoff"; readonly reason: string };

const DONE: Outcome = Object.freeze({ action: "done" });

export const Outcome = {
  done(): Outcome {
    return DONE;
  },
  /** Requeue after `ms` (at least 1); undefined means done. */
  requeueAfter(ms: number | undefined): Outcome {
    return ms === undefined ? DONE : { action: "requeue", afterMs: Math.max(1, ms) };
  },
  /** Requeue with the key's exponential back-off; `reason` goes to the log. */
  backoff(reason: string): Outcome {
    return { action: "backoff", reason };
  },
  /** The earlier of two outcomes: back-off wins over a requeue, a requeue over done. */
  earliest(a: Outcome, b: Outcome): Outcome {
    if (a.action === "backoff") return a;
    if (b.action === "backoff") return b;
    if (a.action === "done") return b;
    if (b.action === "done") return a;
    return a.afterMs <= b.afterMs ? a : b;
  },
} as const;

/** A reconcile failure that retrying cannot fix: not requeued until the object changes. */
export class TerminalError extends Error {
  readonly code = "ERR_RECONCILE_TERMINAL";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TerminalError";
  }
}
