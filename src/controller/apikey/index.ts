export {
  MAX_SIGNING_KEYS,
  parseSigningKeys,
  REQUEST_FIELDS,
  serializeSigningKeys,
  SIGNING_KEY_DOCUMENT_VERSION,
  SigningKeyDocumentError,
} from "./document.ts";
export type { ObservedRequests, RequestField, SigningKeyDocument, StoredKey } from "./document.ts";
export { planKeys } from "./plan.ts";
export type { ApiKeyRequests, ApiKeyStatusInput, DropCause, KeyAction, KeyFactory, KeyPlan, PlanKeysInput, SpecProblem } from "./plan.ts";
export { reconcileApiKey } from "./reconcile.ts";
export type { ApiKeyOutcome, ReconcileApiKeyInput } from "./reconcile.ts";
export {
  activeSigningKey,
  API_KEY_LABEL,
  bundleKeysOf,
  controllerRef,
  isControlledBy,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  readSigningKeySecret,
  SIGNING_KEY_DATA_KEY,
  SIGNING_KEY_SECRET_TYPE,
  signingKeySecret,
  signingKeySecretName,
} from "./secret.ts";
export type { ApiKeyRef, SecretObject, SigningKeySecretRead } from "./secret.ts";
export { keysStatus } from "./status.ts";
export type { ApiKeyKeysStatus } from "./status.ts";
