import type { Bundle } from "../types.ts";
import { canonicalBundle } from "./canonical.ts";

/**
 * The bundle as compact JSON in canonical order (see canonicalBundle), so equal
 * content gives equal text and the ConfigMap changes only when the content does.
 */
export function serializeBundle(b: Bundle): string {
  return JSON.stringify(canonicalBundle(b));
}
