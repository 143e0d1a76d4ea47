// The key-derived part of an ApiKey's status: public facts about each key (kid,
// algorithm, state, times), never key material.

import type { ApiKeyStatus, ApiKeyStatusKey } from "../../api/types.generated.ts";
import { formatTime } from "../../model/policy/time.ts";
import type { SigningKeyDocument } from "../../model/signing-key/document.ts";

/** The fields of ApiKey.status that follow from the signing keys. */
export type ApiKeyKeysStatus = Required<
  Pick<ApiKeyStatus, "keys" | "secretName" | "lastRotationTime" | "nextRotationTime" | "observedRequests">
> &
  Pick<ApiKeyStatus, "activeKid">;

export function keysStatus(doc: SigningKeyDocument, nextRotationAt: Date, secretName: string): ApiKeyKeysStatus {
  const keys = doc.keys.map((k): ApiKeyStatusKey => {
    const key: ApiKeyStatusKey = { kid: k.jwk.kid, algorithm: k.jwk.alg, state: k.state, createdAt: k.createdAt };
    if (k.state === "prepared") key.activatesAt = k.activatesAt;
    if (k.state === "deposed" && k.notAfter !== null) key.notAfter = k.notAfter;
    return key;
  });
  const active = doc.keys.find((k) => k.state === "active");
  const observedRequests: ApiKeyKeysStatus["observedRequests"] = {};
  if (doc.observedRequests.rotate !== undefined) observedRequests.rotate = doc.observedRequests.rotate;
  if (doc.observedRequests.dropDeposed !== undefined) observedRequests.dropDeposed = doc.observedRequests.dropDeposed;
  if (doc.observedRequests.revokeAll !== undefined) observedRequests.revokeAll = doc.observedRequests.revokeAll;
  return {
    keys,
    ...(active === undefined ? {} : { activeKid: active.jwk.kid }),
    secretName,
    lastRotationTime: doc.lastRotationTime,
    nextRotationTime: formatTime(nextRotationAt),
    observedRequests,
  };
}
