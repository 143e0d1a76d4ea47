// The condition types of ApiKey and AccessToken and every reason the controller
// gives, in conditions and in Events alike (an Event's reason is the reason of the
// condition it reports, or one of the action reasons below). docs/conditions.md
// is the user-facing description of the same table; keep the two in step.

import type { ConditionStatus } from "./runtime/conditions.ts";

export const ApiKeyConditionTypes = [
  /** The ApiKey has an active signing key under a usable rotation policy and can sign tokens. */
  "Ready",
  /** The rotation policy the ApiKey names (or the default) exists and is valid. */
  "RotationPolicyResolved",
  /** Every AccessPolicy the ApiKey attaches exists. */
  "AccessPoliciesResolved",
  /** A new key is published and waits for its pre-publication window to pass. */
  "Rotating",
  /** The ApiKey's keys and policies are in the tenant bundle. */
  "Published",
] as const;
export type ApiKeyConditionType = (typeof ApiKeyConditionTypes)[number];

export const AccessTokenConditionTypes = [
  /** A valid token for the current active key is in the Secret. */
  "Ready",
  /** The AccessToken was revoked; its tokens are on the revocation list. One-way. */
  "Revoked",
] as const;
export type AccessTokenConditionType = (typeof AccessTokenConditionTypes)[number];

type EventType = "Normal" | "Warning";

interface ReasonDoc {
  /** The kind whose conditions or Events carry the reason. */
  readonly kind: "ApiKey" | "AccessToken";
  /** The conditions that may carry it, with the status they then have. */
  readonly conditions: readonly (readonly [string, ConditionStatus])[];
  /** The Event type when it is emitted as an Event; null when it is never one. */
  readonly event: EventType | null;
  readonly doc: string;
}

export const Reasons = {
  // ApiKey: Ready
  KeysReady: {
    kind: "ApiKey",
    conditions: [["Ready", "True"]],
    event: null,
    doc: "An active signing key exists and the rotation policy is usable; tokens can be issued.",
  },
  Suspended: {
    kind: "ApiKey",
    conditions: [["Ready", "False"]],
    event: null,
    doc: "spec.suspended is true: verifiers refuse the ApiKey's tokens and no new ones are issued. Keys still rotate.",
  },
  InvalidRequest: {
    kind: "ApiKey",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "A request field of the spec (spec.revokeIssuedBefore) has a value that cannot be applied; nothing was changed. The message names the field and the fix.",
  },
  SigningKeySecretInvalid: {
    kind: "ApiKey",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "The signing-key Secret exists but its keys.json cannot be read. Nothing is overwritten; fix or delete the Secret (deleting it mints a new key, and tokens of the old keys stop verifying).",
  },
  SigningKeySecretConflict: {
    kind: "ApiKey",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "A Secret with the signing-key Secret's name exists but was not created for this ApiKey (wrong type or owner). keyward never adopts it; delete or rename it.",
  },
  KeyGenerationFailed: {
    kind: "ApiKey",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "Generating a signing key failed; the reconcile is retried with back-off.",
  },

  // ApiKey: RotationPolicyResolved (the failures also set Ready to False)
  RotationPolicyFound: {
    kind: "ApiKey",
    conditions: [["RotationPolicyResolved", "True"]],
    event: null,
    doc: "The RotationPolicy or ClusterRotationPolicy named by spec.rotationPolicyRef, or the ClusterRotationPolicy default, is in use.",
  },
  BuiltInPolicy: {
    kind: "ApiKey",
    conditions: [["RotationPolicyResolved", "True"]],
    event: null,
    doc: "spec.rotationPolicyRef is unset and no ClusterRotationPolicy named default exists: the built-in defaults are in use (EdDSA, every 720h, prePublish 5m, grace 720h, tokens 24h by default and 720h at most).",
  },
  RotationPolicyNotFound: {
    kind: "ApiKey",
    conditions: [["RotationPolicyResolved", "False"], ["Ready", "False"]],
    event: "Warning",
    doc: "spec.rotationPolicyRef names a policy that does not exist. Existing keys are kept as they are, and no key rotates, until it exists.",
  },
  RotationPolicyInvalid: {
    kind: "ApiKey",
    conditions: [["RotationPolicyResolved", "False"], ["Ready", "False"]],
    event: "Warning",
    doc: "The rotation policy exists but a field is invalid; the message names the field and the fix. Keys are kept as they are.",
  },

  // ApiKey: Rotating
  KeyPrepublished: {
    kind: "ApiKey",
    conditions: [["Rotating", "True"]],
    event: null,
    doc: "A prepared key is in the bundle and starts signing at its activatesAt.",
  },
  RotationComplete: {
    kind: "ApiKey",
    conditions: [["Rotating", "False"]],
    event: null,
    doc: "No prepared key is waiting.",
  },

  // ApiKey: AccessPoliciesResolved
  AccessPoliciesFound: {
    kind: "ApiKey",
    conditions: [["AccessPoliciesResolved", "True"]],
    event: null,
    doc: "Every AccessPolicy in spec.policies exists.",
  },
  AccessPolicyNotFound: {
    kind: "ApiKey",
    conditions: [["AccessPoliciesResolved", "False"]],
    event: "Warning",
    doc: "spec.policies names AccessPolicies that do not exist, or that the verifier would refuse. The bundle lists only the usable ones, so the others grant nothing.",
  },

  // ApiKey: Published
  Published: {
    kind: "ApiKey",
    conditions: [["Published", "True"]],
    event: null,
    doc: "The tenant bundle ConfigMap holds the ApiKey's keys and policies.",
  },
  BundleTooLarge: {
    kind: "ApiKey",
    conditions: [["Published", "False"]],
    event: "Warning",
    doc: "The tenant bundle would exceed the ConfigMap size limit, so it was not written; verifiers keep the last bundle. Remove unused ApiKeys, AccessPolicies or rules.",
  },
  BundleReplaced: {
    kind: "ApiKey",
    conditions: [],
    event: "Warning",
    doc: "The tenant bundle ConfigMap held no readable bundle and was rewritten; revocations of deleted AccessTokens it held are lost.",
  },

  // ApiKey: key lifecycle actions (Events only)
  RotationStarted: {
    kind: "ApiKey",
    conditions: [],
    event: "Normal",
    doc: "A rotation (scheduled, or requested by a new spec.rotate value) minted a prepared key.",
  },
  RotationInProgress: {
    kind: "ApiKey",
    conditions: [],
    event: "Normal",
    doc: "A rotation fell due while a prepared key was still waiting; that key serves as the rotation and no further key is minted.",
  },
  KeyActivated: {
    kind: "ApiKey",
    conditions: [],
    event: "Normal",
    doc: "A prepared key became active; the previous active key is deposed until the end of its grace window.",
  },
  DeposedKeyExpired: {
    kind: "ApiKey",
    conditions: [],
    event: "Normal",
    doc: "A deposed key reached notAfter (or was superseded by a newer deposed key) and was removed.",
  },
  DeposedKeyDropped: {
    kind: "ApiKey",
    conditions: [],
    event: "Normal",
    doc: "A new spec.dropDeposed value removed the deposed key: tokens signed by it no longer verify.",
  },
  AllKeysRevoked: {
    kind: "ApiKey",
    conditions: [],
    event: "Normal",
    doc: "A new spec.revokeAll value replaced every key with a new active key: tokens signed by the old keys no longer verify.",
  },
  RevocationCutoffMoved: {
    kind: "ApiKey",
    conditions: [],
    event: "Normal",
    doc: "spec.revokeIssuedBefore moved the revocation cut-off forward: tokens issued before it no longer verify.",
  },
  SigningKeyLost: {
    kind: "ApiKey",
    conditions: [],
    event: "Warning",
    doc: "The signing-key Secret disappeared after keys existed: a new active key was minted at once, and tokens signed by the lost keys no longer verify.",
  },

  // AccessToken: Ready
  Issued: {
    kind: "AccessToken",
    conditions: [["Ready", "True"]],
    event: null,
    doc: "The Secret holds a valid token signed by the ApiKey's active key.",
  },
  ApiKeyNotFound: {
    kind: "AccessToken",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "spec.apiKeyName names no ApiKey in the namespace (or it is being deleted).",
  },
  ApiKeySuspended: {
    kind: "AccessToken",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "The ApiKey is suspended; no token is issued until spec.suspended is false.",
  },
  ApiKeyNotReady: {
    kind: "AccessToken",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "The ApiKey has no active key or no usable rotation policy yet; see its Ready condition.",
  },
  LifetimeExceedsPolicy: {
    kind: "AccessToken",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "spec.lifetime is longer than the rotation policy's maxTokenLifetime.",
  },
  NeverExpiresNotAllowed: {
    kind: "AccessToken",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "spec.neverExpires is true but the rotation policy does not set allowNeverExpires.",
  },
  InvalidSpec: {
    kind: "AccessToken",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "A field of the spec cannot be used (a malformed duration, renewBefore not shorter than the lifetime, …); the message names it.",
  },
  TokenSecretConflict: {
    kind: "AccessToken",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "A Secret named spec.secretName exists but is not this AccessToken's (wrong type or owner). keyward never overwrites it.",
  },
  TooManyTokens: {
    kind: "AccessToken",
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "16 tokens issued for the AccessToken are still valid, the most status.issued records; no more is issued until the oldest expires, so that revocation still covers every token.",
  },
  Revoked: {
    kind: "AccessToken",
    conditions: [["Revoked", "True"], ["Ready", "False"]],
    event: null,
    doc: "spec.revoked is true: the token was removed from the Secret and every unexpired token issued for the AccessToken is on the revocation list.",
  },

  // AccessToken: actions (Events only)
  TokenRenewed: {
    kind: "AccessToken",
    conditions: [],
    event: "Normal",
    doc: "The token reached its renewal time and was replaced.",
  },
  TokenReissued: {
    kind: "AccessToken",
    conditions: [],
    event: "Normal",
    doc: "The token was replaced before its renewal time: the key rotated, the spec changed, the revocation cut-off passed its issue time, or the Secret was deleted or altered.",
  },
  TokenRevoked: {
    kind: "AccessToken",
    conditions: [],
    event: "Normal",
    doc: "The AccessToken was revoked or deleted; its tokens are on the revocation list until they expire.",
  },
} as const satisfies Record<string, ReasonDoc>;

export type Reason = keyof typeof Reasons;

/** An Event a plan asks the caller to record on the object it reconciles. Never carries a token or key. */
export interface PlannedEvent {
  type: EventType;
  reason: Reason;
  message: string;
}

/** The Event of `reason`, with the type the table gives it. */
export function eventOf(reason: Reason, message: string): PlannedEvent {
  const { event } = Reasons[reason];
  return { type: event ?? "Normal", reason, message };
}

/** A condition as a planner states it, with a reason from the table. */
export interface PlannedCondition {
  type: string;
  status: ConditionStatus;
  reason: Reason;
  message: string;
}
