import { BundleError } from "../errors.ts";
import type { Bundle } from "../types.ts";
import { validateBundle } from "./validate.ts";

/** Parses and validates `bundle.json`. Throws BundleError (ERR_BUNDLE_JSON for text that is not JSON). */
export function parseBundle(text: string): Bundle {
  if (typeof text !== "string") throw new BundleError("ERR_BUNDLE_JSON", "$", "the bundle must be JSON text");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BundleError("ERR_BUNDLE_JSON", "$", `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return validateBundle(value);
}
