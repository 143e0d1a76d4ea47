// The conditions and reasons of AccessPolicy, RotationPolicy and
// ClusterRotationPolicy. Their Events use the same reasons.

export const PolicyConditionTypes = [
  /** The spec can be used: every rule (AccessPolicy) or field (rotation policies) is valid. */
  "Valid",
  /** AccessPolicy only: verifiers can enforce the policy (the printer column of `kubectl get accesspolicies`). Mirrors Valid. */
  "Ready",
] as const;
export type PolicyConditionType = (typeof PolicyConditionTypes)[number];

export const PolicyReasons = {
  RulesValid: {
    kinds: ["AccessPolicy"],
    status: "True",
    event: null,
    doc: "Every rule is valid; ApiKeys that attach the policy get it in the tenant bundle.",
  },
  InvalidRules: {
    kinds: ["AccessPolicy"],
    status: "False",
    event: "Warning",
    doc: "A rule cannot be enforced; the message names each rule and pattern at fault and the fix. The bundle leaves the policy out, so it grants nothing.",
  },
  PolicyValid: {
    kinds: ["RotationPolicy", "ClusterRotationPolicy"],
    status: "True",
    event: null,
    doc: "The schedule parses (cron in an existing time zone, or an interval of at least 1h), prePublish is shorter than the interval and the token lifetimes fit.",
  },
  InvalidPolicy: {
    kinds: ["RotationPolicy", "ClusterRotationPolicy"],
    status: "False",
    event: "Warning",
    doc: "A field cannot be used; the message names every field at fault and the fix. ApiKeys under the policy keep their keys and do not rotate until it is fixed.",
  },
} as const;

export type PolicyReason = keyof typeof PolicyReasons;
