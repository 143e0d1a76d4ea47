export { KubeClient, ContentTypes, DEFAULT_FIELD_MANAGER } from "./client.ts";
export type {
  ApplyOptions,
  CallOptions,
  DeleteOptions,
  KubeClientOptions,
  ListOptions,
  ObjectRef,
  PatchOptions,
  WatchOptions,
  WriteOptions,
} from "./client.ts";
export { ManualClock, settle, sleep, systemClock } from "./clock.ts";
export type { Clock, TimerHandle } from "./clock.ts";
export { KubeConfigError, SERVICE_ACCOUNT_DIR, loadKubeConfig } from "./config.ts";
export type { KubeConfigSource, LoadKubeConfigOptions, LoadedKubeConfig } from "./config.ts";
export {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  KubeApiError,
  KubeError,
  KubeErrorCodes,
  NotFoundError,
  TooManyRequestsError,
  UnavailableError,
  describeTarget,
  errorFromResponse,
  isAlreadyExists,
  isConflict,
  isNamespaceTerminating,
  isNotFound,
  isRetryable,
  NAMESPACE_TERMINATING_CAUSE,
} from "./errors.ts";
export type { KubeErrorCode, RequestTarget } from "./errors.ts";
export { Informer, createInformer, listWatch, withoutApplyRecords } from "./informer.ts";
export type {
  BackoffOptions,
  IndexFunc,
  InformerHandlers,
  InformerOptions,
  InformerStats,
  ListWatchOptions,
  ListWatchSource,
  RestartReason,
} from "./informer.ts";
export { errorFields, silentLogger } from "./logger.ts";
export type { Logger } from "./logger.ts";
export { KEYWARD_GROUP, KEYWARD_VERSION, Resources, apiVersionOf, resourceName, resourcePath } from "./resources.ts";
export type { Resource } from "./resources.ts";
export { makeKey, objectKey, parseKey } from "./types.ts";
export type {
  CoreEvent,
  KubeList,
  KubeObject,
  Lease,
  ListMeta,
  ManagedFieldsEntry,
  ObjectMeta,
  ObjectReference,
  OwnerReference,
  Status,
  StatusCause,
  WatchEvent,
  WatchEventType,
} from "./types.ts";
export { WRITE_VERBS, WriteCounter } from "./writes.ts";
export type { WriteFilter, WriteListener, WriteRecord, WriteVerb } from "./writes.ts";
