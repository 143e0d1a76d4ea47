// The ApiKey request fields: spec.rotate, spec.dropDeposed and spec.revokeAll. Each is
// a free-form value; every new value makes the controller act once, and the values acted
// on are recorded (in the signing-key Secret first, then in status.observedRequests). A
// value is new when it is neither the field's current value nor the last one acted on.
// spec.revokeIssuedBefore is not one of them: it is a cut-off that only moves forward.

export const REQUEST_FIELDS = ["rotate", "dropDeposed", "revokeAll"] as const;
export type RequestField = (typeof REQUEST_FIELDS)[number];

/** The request fields of an ApiKey's spec (each new value acts once), and the revocation cut-off. */
export type ApiKeyRequests = Partial<Record<RequestField, string | undefined>> & {
  /** RFC 3339: tokens issued before it are refused. It only moves forward. */
  revokeIssuedBefore?: string | undefined;
};

/** The request values already acted on. */
export type ObservedRequests = Partial<Record<RequestField, string | undefined>>;
