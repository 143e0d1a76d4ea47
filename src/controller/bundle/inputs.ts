// The bundle's view of an ApiKey, from the ApiKey, what its signing-key Secret
// held and its rotation policy.

import type { ApiKey } from "../../api/types.generated.ts";
import { bundleKeysOf, type SigningKeySecretRead } from "../../model/signing-key/secret.ts";
import type { PolicyResolution } from "../../model/policy/resolve.ts";
import type { BundleApiKeyInput } from "./plan.ts";

/**
 * A Secret that is missing publishes no keys; one that cannot be read, or is not
 * the ApiKey's, leaves the keys the bundle already has (null). A policy that cannot
 * be resolved leaves the bundle's allowNonExpiring (null).
 */
export function bundleApiKeyInput(apiKey: ApiKey, secret: SigningKeySecretRead, policy: PolicyResolution | null): BundleApiKeyInput {
  const name = apiKey.metadata.name ?? "";
  return {
    name,
    uid: apiKey.metadata.uid ?? "",
    deleting: apiKey.metadata.deletionTimestamp !== undefined,
    suspended: apiKey.spec?.suspended === true,
    policies: apiKey.spec?.policies ?? [],
    revokedBefore: secret.kind === "ok" ? secret.document.revokedBefore : null,
    allowNonExpiring: policy?.ok === true ? policy.policy.allowNeverExpires : null,
    keys: secret.kind === "ok" ? bundleKeysOf(secret.document, name) : secret.kind === "missing" ? [] : null,
  };
}
