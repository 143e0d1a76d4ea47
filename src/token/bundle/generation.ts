import { BundleError } from "../errors.ts";
import type { Bundle } from "../types.ts";
import { serializeBundle } from "./serialize.ts";

/**
 * Throws BundleError if `next` may not replace the bundle in use: a verifier
 * never goes back to a lower generation (ERR_BUNDLE_GENERATION_REGRESSION), and
 * a generation names one content only (ERR_BUNDLE_EQUIVOCATION: the same
 * generation with other content, in canonical form, is an edit the controller
 * did not make). The same bundle read again is accepted.
 */
export function assertNotOlder(current: Bundle | null, next: Bundle): void {
  if (current === null) return;
  if (next.generation < current.generation) {
    throw new BundleError(
      "ERR_BUNDLE_GENERATION_REGRESSION",
      "generation",
      `is ${next.generation}, older than generation ${current.generation} in use for tenant "${current.tenant}"; the older bundle is ignored`,
    );
  }
  if (next.generation === current.generation && serializeBundle(next) !== serializeBundle(current)) {
    throw new BundleError(
      "ERR_BUNDLE_EQUIVOCATION",
      "generation",
      `is ${next.generation}, the generation in use for tenant "${current.tenant}", but the content differs; ` +
        `the bundle was changed without a new generation (only the keyward controller writes ConfigMap keyward-bundle: undo the edit or let the controller rewrite it)`,
    );
  }
}
