export { Controller, mapByIndex, mapToAll, mapToOwner, ownKey } from "./controller.ts";
export type {
  ControllerObserver,
  ControllerOptions,
  ErrorPolicyResult,
  MapFunc,
  ReconcileContext,
  ReconcileFunc,
  ReconcileResultLabel,
  StopOptions,
  WatchEventKind,
  WatchSpec,
} from "./controller.ts";
export { Outcome, TerminalError } from "./outcome.ts";
export { EventRecorder } from "./events.ts";
export type { EventRecorderOptions, EventType } from "./events.ts";
export { LeaderElector, defaultIdentity, formatMicroTime, leaseLock } from "./leader.ts";
export type { LeaderElectorOptions, LeaseLock } from "./leader.ts";
export { Manager } from "./manager.ts";
export type { LeaderElectionOptions, ListenOptions, ManagerOptions } from "./manager.ts";
export { RuntimeMetrics } from "./metrics.ts";
export type { RuntimeMetricsOptions } from "./metrics.ts";
export { WorkQueue } from "./queue.ts";
export type { QueueBackoff, ShutDownOptions, WorkQueueOptions } from "./queue.ts";
export { REDACTED_PATHS, createLogger } from "./logging.ts";
export type { CreateLoggerOptions } from "./logging.ts";
