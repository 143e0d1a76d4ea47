import { BundleError } from "../errors.ts";
import type { Bundle } from "../types.ts";

/**
 * Throws BundleError ERR_BUNDLE_GENERATION_REGRESSION if `next` is older than
 * the bundle in use: a verifier never goes back to a lower generation. The same
 * generation is accepted (the same bundle read again).
 */
export function assertNotOlder(current: Bundle | null, next: Bundle): void {
  if (current !== null && next.generation < current.generation) {
    throw new BundleError(
      "ERR_BUNDLE_GENERATION_REGRESSION",
      "generation",
      `is ${next.generation}, older than generation ${current.generation} in use for tenant "${current.tenant}"; the older bundle is ignored`,
    );
  }
}
