import { BUNDLE_API_VERSION } from "../types.ts";
import type { Bundle } from "../types.ts";
import { canonicalBundle } from "./canonical.ts";
import { validateBundle } from "./validate.ts";

/**
 * A v1 bundle of the given content, validated (BundleError if it is not valid:
 * a bundle the verifier would refuse is never built) and sorted
 * deterministically: keys by (apiKey, kid), revoked by (apiKey, jti), apiKeys
 * and policies by name.
 */
export function buildBundle(input: Omit<Bundle, "apiVersion">): Bundle {
  const { revokedSegments, ...rest } = input;
  const segments = revokedSegments === undefined || revokedSegments.length === 0 ? {} : { revokedSegments };
  return canonicalBundle(validateBundle({ ...rest, ...segments, apiVersion: BUNDLE_API_VERSION }));
}
