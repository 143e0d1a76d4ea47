// Typed errors of the Kubernetes client, with stable codes. Callers branch on the
// class (`instanceof ConflictError`) or on `code`; never on message text.

import type { Status, StatusCause } from "./types.ts";

export const KubeErrorCodes = [
  /** 404: the object (or its namespace, or the resource type) does not exist. */
  "ERR_KUBE_NOT_FOUND",
  /** 409 Conflict: the resourceVersion sent is stale (optimistic concurrency) or an apply conflicts. */
  "ERR_KUBE_CONFLICT",
  /** 409 AlreadyExists: create of a name that is taken. */
  "ERR_KUBE_ALREADY_EXISTS",
  /** 401: the credentials were refused. */
  "ERR_KUBE_UNAUTHORIZED",
  /** 403: RBAC (or an admission plugin) denied the request. */
  "ERR_KUBE_FORBIDDEN",
  /** 422: the object failed validation; `causes` lists the fields. */
  "ERR_KUBE_INVALID",
  /** 400: the request itself is malformed (bad patch, bad selector, …). */
  "ERR_KUBE_BAD_REQUEST",
  /** 410: the resourceVersion asked for is too old (watch/list); relist. */
  "ERR_KUBE_GONE",
  /** 415: the server does not accept the Content-Type sent. */
  "ERR_KUBE_UNSUPPORTED_MEDIA_TYPE",
  /** 405: the verb is not supported on this resource. */
  "ERR_KUBE_METHOD_NOT_ALLOWED",
  /** 429: throttled by API priority and fairness; `retryAfterSeconds` says when to retry. */
  "ERR_KUBE_TOO_MANY_REQUESTS",
  /** 5xx, a timeout or a network failure: the server could not be reached or could not answer. */
  "ERR_KUBE_UNAVAILABLE",
  /** Any other status. */
  "ERR_KUBE_UNEXPECTED",
  /** The call itself is wrong before anything is sent (e.g. replace without resourceVersion). */
  "ERR_KUBE_CLIENT_INPUT",
  /** No usable kubeconfig was found. */
  "ERR_KUBE_CONFIG",
] as const;

export type KubeErrorCode = (typeof KubeErrorCodes)[number];

/** Base of every error this package throws. */
export class KubeError extends Error {
  readonly code: KubeErrorCode;
  constructor(code: KubeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KubeError";
    this.code = code;
  }
}

/** What the failed request was, for messages and logs. */
export interface RequestTarget {
  verb: string;
  /** "secrets", "apikeys.keyward.dev/status", … */
  resource: string;
  namespace?: string | undefined;
  name?: string | undefined;
}

export function describeTarget(t: RequestTarget): string {
  const obj = t.name === undefined ? "" : t.namespace === undefined ? ` ${t.name}` : ` ${t.namespace}/${t.name}`;
  const where = t.name === undefined && t.namespace !== undefined ? ` in namespace ${t.namespace}` : "";
  return `${t.verb} ${t.resource}${obj}${where}`;
}

/** An error answered by the API server (or the failure to reach it). */
export class KubeApiError extends KubeError {
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** metav1.Status reason, e.g. "Conflict", "NotFound", "Invalid". */
  readonly reason: string | undefined;
  /** The server's own message, verbatim. */
  readonly serverMessage: string | undefined;
  /** Field-level causes (422 Invalid, 409 apply conflicts). */
  readonly causes: readonly StatusCause[];
  readonly retryAfterSeconds: number | undefined;
  readonly target: RequestTarget;

  constructor(
    code: KubeErrorCode,
    target: RequestTarget,
    status: number,
    body: Status | undefined,
    options?: { cause?: unknown; message?: string; retryAfterSeconds?: number | undefined },
  ) {
    const serverMessage = body?.message;
    super(code, options?.message ?? `${describeTarget(target)}: ${serverMessage ?? `HTTP ${status}`}`, options);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = body?.reason;
    this.serverMessage = serverMessage;
    this.causes = body?.details?.causes ?? [];
    this.retryAfterSeconds = options?.retryAfterSeconds ?? body?.details?.retryAfterSeconds;
    this.target = target;
  }
}

export class NotFoundError extends KubeApiError {
  constructor(target: RequestTarget, status: number, body: Status | undefined) {
    super("ERR_KUBE_NOT_FOUND", target, status, body);
    this.name = "NotFoundError";
  }
}

export class ConflictError extends KubeApiError {
  constructor(target: RequestTarget, status: number, body: Status | undefined) {
    super("ERR_KUBE_CONFLICT", target, status, body);
    this.name = "ConflictError";
  }
}

export class AlreadyExistsError extends KubeApiError {
  constructor(target: RequestTarget, status: number, body: Status | undefined) {
    super("ERR_KUBE_ALREADY_EXISTS", target, status, body);
    this.name = "AlreadyExistsError";
  }
}

export class ForbiddenError extends KubeApiError {
  constructor(target: RequestTarget, status: number, body: Status | undefined) {
    super("ERR_KUBE_FORBIDDEN", target, status, body);
    this.name = "ForbiddenError";
  }
}

export class InvalidError extends KubeApiError {
  constructor(target: RequestTarget, status: number, body: Status | undefined) {
    const causes = body?.details?.causes ?? [];
    const detail = causes
      .map((c) => (c.field !== undefined && c.field !== "" ? `${c.field}: ${c.message ?? c.reason ?? ""}` : (c.message ?? "")))
      .filter((s) => s !== "")
      .join("; ");
    const message = `${describeTarget(target)}: ${body?.message ?? "invalid"}${detail !== "" && body?.message?.includes(detail) !== true ? ` (${detail})` : ""}`;
    super("ERR_KUBE_INVALID", target, status, body, { message });
    this.name = "InvalidError";
  }
}

export class GoneError extends KubeApiError {
  constructor(target: RequestTarget, status: number, body: Status | undefined) {
    super("ERR_KUBE_GONE", target, status, body);
    this.name = "GoneError";
  }
}

export class UnavailableError extends KubeApiError {
  constructor(target: RequestTarget, status: number, body: Status | undefined, options?: { cause?: unknown; message?: string; retryAfterSeconds?: number | undefined }) {
    super("ERR_KUBE_UNAVAILABLE", target, status, body, options);
    this.name = "UnavailableError";
  }
}

export class TooManyRequestsError extends KubeApiError {
  constructor(target: RequestTarget, status: number, body: Status | undefined, retryAfterSeconds: number | undefined) {
    super("ERR_KUBE_TOO_MANY_REQUESTS", target, status, body, { retryAfterSeconds });
    this.name = "TooManyRequestsError";
  }
}

/** Maps an HTTP status and metav1.Status body to the typed error. */
export function errorFromResponse(
  target: RequestTarget,
  status: number,
  body: Status | undefined,
  retryAfterHeader?: string  ,
): KubeApiError {
  const retryAfter = parseRetryAfter(retryAfterHeader) ?? body?.details?.retryAfterSeconds;
  switch (status) {
    case 404:
      return new NotFoundError(target, status, body);
    case 409:
      return body?.reason === "AlreadyExists" ? new AlreadyExistsError(target, status, body) : new ConflictError(target, status, body);
    case 401:
      return new KubeApiError("ERR_KUBE_UNAUTHORIZED", target, status, body);
    case 403:
      return new ForbiddenError(target, status, body);
    case 422:
      return new InvalidError(target, status, body);
    case 400:
      return new KubeApiError("ERR_KUBE_BAD_REQUEST", target, status, body);
    case 410:
      return new GoneError(target, status, body);
    case 415:
      return new KubeApiError("ERR_KUBE_UNSUPPORTED_MEDIA_TYPE", target, status, body);
    case 405:
      return new KubeApiError("ERR_KUBE_METHOD_NOT_ALLOWED", target, status, body);
    case 429:
      return new TooManyRequestsError(target, status, body, retryAfter);
    default:
      if (status >= 500) return new UnavailableError(target, status, body, { retryAfterSeconds: retryAfter });
      return new KubeApiError("ERR_KUBE_UNEXPECTED", target, status, body);
  }
}

function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}

export function isConflict(err: unknown): err is ConflictError {
  return err instanceof ConflictError;
}

export function isAlreadyExists(err: unknown): err is AlreadyExistsError {
  return err instanceof AlreadyExistsError;
}

/** The StatusCause reason of a create refused because its namespace is being deleted. */
export const NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating";

/**
 * Whether the API server refused a write because its namespace is being deleted
 * (403 Forbidden with the cause NamespaceTerminating): nothing new can be created
 * there any more.
 */
export function isNamespaceTerminating(err: unknown): err is ForbiddenError {
  return err instanceof ForbiddenError && err.causes.some((c) => c.reason === NAMESPACE_TERMINATING_CAUSE);
}

/** True for errors worth retrying as they are: unavailable, throttled, or a stale resourceVersion. */
export function isRetryable(err: unknown): boolean {
  return err instanceof UnavailableError || err instanceof TooManyRequestsError || err instanceof ConflictError;
}
