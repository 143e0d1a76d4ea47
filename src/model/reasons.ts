// The condition types of every keyward kind and every reason keyward gives, in
// conditions and in Events alike (an Event's reason is the reason of the
// condition it reports, or one of the action reasons below): one table, one
// shape. docs/conditions.md is the user-facing description of the same table; a
// test keeps the two in step.

import type { ConditionStatus } from "./conditions.ts";

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

export const PolicyConditionTypes = [
  /** The spec can be used: every rule (AccessPolicy) or field (rotation policies) is valid. */
  "Valid",
  /** AccessPolicy only: verifiers can enforce the policy (the printer column of `kubectl get accesspolicies`). Mirrors Valid. */
  "Ready",
] as const;
export type PolicyConditionType = (typeof PolicyConditionTypes)[number];

/** The condition types of each kind that has conditions. */
export const ConditionTypes = {
  ApiKey: ApiKeyConditionTypes,
  AccessToken: AccessTokenConditionTypes,
  AccessPolicy: PolicyConditionTypes,
  RotationPolicy: ["Valid"],
  ClusterRotationPolicy: ["Valid"],
  IssuedToken: [],
} as const satisfies Record<string, readonly string[]>;

/** The kinds whose conditions or Events carry keyward's reasons. */
export type ReasonKind = keyof typeof ConditionTypes;

type EventType = "Normal" | "Warning";

interface ReasonDoc {
  /** The kinds whose conditions or Events carry the reason. */
  readonly kinds: readonly ReasonKind[];
  /** The conditions that may carry it, with the status they then have. */
  readonly conditions: readonly (readonly [string, ConditionStatus])[];
  /** The Event type when it is emitted as an Event; null when it is never one. */
  readonly event: EventType | null;
  readonly doc: string;
}

export const Reasons = {
  // ApiKey: Ready
  KeysReady: {
    kinds: ["ApiKey"],
    conditions: [["Ready", "True"]],
    event: null,
    doc: "An active signing key exists and the rotation policy is usable; tokens can be issued.",
  },
  Suspended: {
    kinds: ["ApiKey"],
    conditions: [["Ready", "False"]],
    event: null,
    doc: "spec.suspended is true: verifiers refuse the ApiKey's tokens and no new ones are issued. Keys still rotate.",
  },
  InvalidRequest: {
    kinds: ["ApiKey"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "A request field of the spec (spec.revokeIssuedBefore) has a value that cannot be applied; nothing was changed. The message names the field and the fix.",
  },
  SigningKeySecretInvalid: {
    kinds: ["ApiKey"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "The signing-key Secret exists but its keys.json cannot be read. Nothing is overwritten; fix or delete the Secret (deleting it mints a new key, and tokens of the old keys stop verifying).",
  },
  SigningKeySecretConflict: {
    kinds: ["ApiKey"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "A Secret with the signing-key Secret's name exists but was not created for this ApiKey (wrong type or owner). keyward never adopts it; delete or rename it.",
  },
  KeyGenerationFailed: {
    kinds: ["ApiKey"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "Generating a signing key failed; the reconcile is retried with back-off.",
  },

  // ApiKey: RotationPolicyResolved (the failures also set Ready to False)
  RotationPolicyFound: {
    kinds: ["ApiKey"],
    conditions: [["RotationPolicyResolved", "True"]],
    event: null,
    doc: "The RotationPolicy or ClusterRotationPolicy named by spec.rotationPolicyRef, or the ClusterRotationPolicy default, is in use.",
  },
  BuiltInPolicy: {
    kinds: ["ApiKey"],
    conditions: [["RotationPolicyResolved", "True"]],
    event: null,
    doc: "spec.rotationPolicyRef is unset and no ClusterRotationPolicy named default exists: the built-in defaults are in use (EdDSA, every 720h, prePublish 5m, grace 720h, tokens 24h by default and 720h at most).",
  },
  RotationPolicyNotFound: {
    kinds: ["ApiKey"],
    conditions: [["RotationPolicyResolved", "False"], ["Ready", "False"]],
    event: "Warning",
    doc: "spec.rotationPolicyRef names a policy that does not exist. Existing keys are kept as they are, and no key rotates, until it exists.",
  },
  RotationPolicyInvalid: {
    kinds: ["ApiKey"],
    conditions: [["RotationPolicyResolved", "False"], ["Ready", "False"]],
    event: "Warning",
    doc: "The rotation policy exists but a field is invalid; the message names the field and the fix. Keys are kept as they are.",
  },

  // ApiKey: Rotating
  KeyPrepublished: {
    kinds: ["ApiKey"],
    conditions: [["Rotating", "True"]],
    event: null,
    doc: "A prepared key is in the bundle and starts signing at its activatesAt.",
  },
  RotationComplete: {
    kinds: ["ApiKey"],
    conditions: [["Rotating", "False"]],
    event: null,
    doc: "No prepared key is waiting.",
  },

  // ApiKey: AccessPoliciesResolved
  AccessPoliciesFound: {
    kinds: ["ApiKey"],
    conditions: [["AccessPoliciesResolved", "True"]],
    event: null,
    doc: "Every AccessPolicy in spec.policies exists.",
  },
  AccessPolicyNotFound: {
    kinds: ["ApiKey"],
    conditions: [["AccessPoliciesResolved", "False"]],
    event: "Warning",
    doc: "spec.policies names AccessPolicies that do not exist, or that the verifier would refuse. The bundle lists only the usable ones, so the others grant nothing.",
  },

  // ApiKey: Published
  Published: {
    kinds: ["ApiKey"],
    conditions: [["Published", "True"]],
    event: null,
    doc: "The tenant bundle ConfigMap holds the ApiKey's keys and policies.",
  },
  BundleTooLarge: {
    kinds: ["ApiKey"],
    conditions: [["Published", "False"]],
    event: "Warning",
    doc: "The tenant bundle would exceed the ConfigMap size limit, so it was not written; verifiers keep the last bundle. Remove unused ApiKeys, AccessPolicies or rules.",
  },
  BundleReplaced: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Warning",
    doc: "The tenant bundle ConfigMap did not hold the bundle the controller wrote (edited or unreadable) and was rewritten from the controller's record; without a record, revocations of deleted AccessTokens it held are lost.",
  },

  // ApiKey: key lifecycle actions (Events only)
  RotationStarted: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Normal",
    doc: "A rotation (scheduled, or requested by a new spec.rotate value) minted a prepared key.",
  },
  RotationInProgress: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Normal",
    doc: "A rotation fell due while a prepared key was still waiting; that key serves as the rotation and no further key is minted.",
  },
  KeyActivated: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Normal",
    doc: "A prepared key became active; the previous active key is deposed until the end of its grace window.",
  },
  DeposedKeyExpired: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Normal",
    doc: "A deposed key reached notAfter (or was superseded by a newer deposed key) and was removed.",
  },
  DeposedKeyDropped: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Normal",
    doc: "A new spec.dropDeposed value removed the deposed key: tokens signed by it no longer verify.",
  },
  AllKeysRevoked: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Normal",
    doc: "A new spec.revokeAll value replaced every key with a new active key: tokens signed by the old keys no longer verify.",
  },
  RevocationCutoffMoved: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Normal",
    doc: "spec.revokeIssuedBefore moved the revocation cut-off forward: tokens issued before it no longer verify.",
  },
  SigningKeyLost: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Warning",
    doc: "The signing-key Secret disappeared after keys existed: a new active key was minted at once, and tokens signed by the lost keys no longer verify.",
  },

  // AccessToken: Ready
  Issued: {
    kinds: ["AccessToken"],
    conditions: [["Ready", "True"]],
    event: null,
    doc: "The Secret holds a valid token signed by the ApiKey's active key.",
  },
  ApiKeyNotFound: {
    kinds: ["AccessToken"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "spec.apiKeyName names no ApiKey in the namespace (or it is being deleted).",
  },
  ApiKeySuspended: {
    kinds: ["AccessToken"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "The ApiKey is suspended; no token is issued until spec.suspended is false.",
  },
  ApiKeyNotReady: {
    kinds: ["AccessToken"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "The ApiKey has no active key or no usable rotation policy yet; see its Ready condition.",
  },
  LifetimeExceedsPolicy: {
    kinds: ["AccessToken"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "spec.lifetime is longer than the rotation policy's maxTokenLifetime.",
  },
  NeverExpiresNotAllowed: {
    kinds: ["AccessToken"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "spec.neverExpires is true but the rotation policy does not set allowNeverExpires.",
  },
  InvalidSpec: {
    kinds: ["AccessToken"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "A field of the spec cannot be used (a malformed duration, renewBefore not shorter than the lifetime, …); the message names it.",
  },
  TokenSecretConflict: {
    kinds: ["AccessToken"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "A Secret named spec.secretName exists but is not this AccessToken's (wrong type or owner). keyward never overwrites it.",
  },
  TooManyTokens: {
    kinds: ["AccessToken"],
    conditions: [["Ready", "False"]],
    event: "Warning",
    doc: "16 tokens issued for the AccessToken are still valid, the most status.issued records; no more is issued until the oldest expires, so that revocation still covers every token.",
  },
  Revoked: {
    kinds: ["AccessToken"],
    conditions: [["Revoked", "True"], ["Ready", "False"]],
    event: null,
    doc: "spec.revoked is true: the token was removed from the Secret and every unexpired token issued for the AccessToken is on the revocation list.",
  },

  // AccessToken: actions (Events only)
  TokenRenewed: {
    kinds: ["AccessToken"],
    conditions: [],
    event: "Normal",
    doc: "The token reached its renewal time and was replaced.",
  },
  TokenReissued: {
    kinds: ["AccessToken"],
    conditions: [],
    event: "Normal",
    doc: "The token was replaced before its renewal time: the key rotated, the spec changed, the revocation cut-off passed its issue time, or the Secret was deleted or altered.",
  },
  TokenRevoked: {
    kinds: ["AccessToken", "IssuedToken"],
    conditions: [],
    event: "Normal",
    doc: "Tokens were revoked: an AccessToken revoked or deleted, or an IssuedToken's spec.revoked set. They are on the tenant's revocation list until they expire.",
  },

  // ApiKey: the token service's client credentials (Events only)
  ClientSecretMinted: {
    kinds: ["ApiKey"],
    conditions: [],
    event: "Normal",
    doc: "A new OAuth 2.0 client secret was minted into the ApiKey's client-credentials Secret (first opt-in, or the Secret was deleted to rotate it). Never carries the secret.",
  },

  // AccessPolicy: Valid and Ready
  RulesValid: {
    kinds: ["AccessPolicy"],
    conditions: [["Valid", "True"], ["Ready", "True"]],
    event: null,
    doc: "Every rule is valid; ApiKeys that attach the policy get it in the tenant bundle.",
  },
  InvalidRules: {
    kinds: ["AccessPolicy"],
    conditions: [["Valid", "False"], ["Ready", "False"]],
    event: "Warning",
    doc: "A rule cannot be enforced; the message names each rule and pattern at fault and the fix. The bundle leaves the policy out, so it grants nothing.",
  },

  // RotationPolicy and ClusterRotationPolicy: Valid
  PolicyValid: {
    kinds: ["RotationPolicy", "ClusterRotationPolicy"],
    conditions: [["Valid", "True"]],
    event: null,
    doc: "The schedule parses (cron in an existing time zone, or an interval of at least 1h), prePublish is shorter than the interval and the token lifetimes fit.",
  },
  InvalidPolicy: {
    kinds: ["RotationPolicy", "ClusterRotationPolicy"],
    conditions: [["Valid", "False"]],
    event: "Warning",
    doc: "A field cannot be used; the message names every field at fault and the fix. ApiKeys under the policy keep their keys and do not rotate until it is fixed.",
  },
} as const satisfies Record<string, ReasonDoc>;

export type Reason = keyof typeof Reasons;

/** The reasons that kinds `K` carry. */
export type ReasonOf<K extends ReasonKind> = {
  [R in Reason]: [Extract<(typeof Reasons)[R]["kinds"][number], K>] extends [never] ? never : R;
}[Reason];

/** The reasons of AccessPolicy, RotationPolicy and ClusterRotationPolicy. */
export type PolicyReason = ReasonOf<"AccessPolicy" | "RotationPolicy" | "ClusterRotationPolicy">;

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
