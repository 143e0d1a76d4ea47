import { describe, expect, it } from "vitest";
import {
  AlreadyExistsError,
  ConflictError,
  KubeApiError,
  KubeError,
  KubeErrorCodes,
  NotFoundError,
  UnavailableError,
  errorFromResponse,
  isAlreadyExists,
  isConflict,
  isNamespaceTerminating,
  isNotFound,
  isRetryable,
} from "../../src/kube/errors.ts";

const target = { verb: "update", resource: "apikeys.keyward.dev", namespace: "acme", name: "reporting" };

describe("errorFromResponse", () => {
  it("tells a stale resourceVersion (Conflict) from a taken name (AlreadyExists), both 409", () => {
    const conflict = errorFromResponse(target, 409, { reason: "Conflict", message: "the object has been modified" });
    const exists = errorFromResponse(target, 409, { reason: "AlreadyExists", message: "already exists" });
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(isConflict(conflict)).toBe(true);
    expect(exists).toBeInstanceOf(AlreadyExistsError);
    expect(isAlreadyExists(exists)).toBe(true);
    expect(isConflict(exists)).toBe(false);
  });

  it("names the verb, resource and object in its message, followed by the server's", () => {
    const err = errorFromResponse(target, 404, { message: 'apikeys.keyward.dev "reporting" not found' });
    expect(err).toBeInstanceOf(NotFoundError);
    expect(isNotFound(err)).toBe(true);
    expect(err.message).toBe('update apikeys.keyward.dev acme/reporting: apikeys.keyward.dev "reporting" not found');
  });

  it("treats every 5xx as unavailable and reads Retry-After", () => {
    const err = errorFromResponse(target, 504, undefined, "7");
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.retryAfterSeconds).toBe(7);
    expect(err.message).toContain("HTTP 504");
  });

  it("keeps an unknown status as ERR_KUBE_UNEXPECTED", () => {
    const err = errorFromResponse(target, 418, { message: "teapot" });
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err.code).toBe("ERR_KUBE_UNEXPECTED");
  });

  it("calls unavailable, throttled and conflicting requests retryable, and nothing else", () => {
    expect(isRetryable(errorFromResponse(target, 503, undefined))).toBe(true);
    expect(isRetryable(errorFromResponse(target, 429, undefined))).toBe(true);
    expect(isRetryable(errorFromResponse(target, 409, { reason: "Conflict" }))).toBe(true);
    expect(isRetryable(errorFromResponse(target, 422, undefined))).toBe(false);
    expect(isRetryable(errorFromResponse(target, 403, undefined))).toBe(false);
    expect(isRetryable(new Error("x"))).toBe(false);
  });

  it("recognises a create refused because its namespace is being deleted by the NamespaceTerminating cause, not by the message", () => {
    const create = { verb: "create", resource: "secrets", namespace: "acme", name: "reporting-signing-keys" };
    const terminating = errorFromResponse(create, 403, {
      reason: "Forbidden",
      message: 'secrets "reporting-signing-keys" is forbidden: unable to create new content in namespace acme because it is being terminated',
      details: { name: "reporting-signing-keys", kind: "secrets", causes: [{ reason: "NamespaceTerminating", message: "namespace acme is being terminated", field: "metadata.namespace" }] },
    });
    expect(isNamespaceTerminating(terminating)).toBe(true);
    const rbac = errorFromResponse(create, 403, { reason: "Forbidden", message: "cannot create resource secrets: being terminated" });
    expect(isNamespaceTerminating(rbac)).toBe(false);
    const otherStatus = errorFromResponse(create, 422, { reason: "Invalid", details: { causes: [{ reason: "NamespaceTerminating" }] } });
    expect(isNamespaceTerminating(otherStatus)).toBe(false);
    expect(isNamespaceTerminating(new Error("namespace acme is being terminated"))).toBe(false);
  });

  it("gives every error a code from the documented list", () => {
    for (const status of [400, 401, 403, 404, 405, 409, 410, 415, 422, 429, 500, 503, 418]) {
      const err = errorFromResponse(target, status, undefined);
      expect(err).toBeInstanceOf(KubeError);
      expect(KubeErrorCodes).toContain(err.code);
    }
  });
});
