// The bundle text inside what a file holds: bundle.json itself, or a ConfigMap manifest
// (`kubectl get configmap keyward-bundle -o yaml` or `-o json`) whose data carries it.

import { parse as parseYaml } from "yaml";
import { BUNDLE_DATA_KEY as BUNDLE_KEY } from "../../model/names.ts";

export { BUNDLE_KEY };

/** The bundle.json text in `fileText`; the text itself when it is not a ConfigMap manifest. */
export function bundleTextOf(fileText: string): string {
  // A plain search first: parsing a large bundle as YAML on every poll would be wasteful.
  if (!fileText.includes("ConfigMap")) return fileText;
  let doc: unknown;
  try {
    doc = parseYaml(fileText);
  } catch {
    return fileText;
  }
  if (typeof doc !== "object" || doc === null || (doc as { kind?: unknown }).kind !== "ConfigMap") return fileText;
  const data = (doc as { data?: unknown }).data;
  if (typeof data !== "object" || data === null) return fileText;
  const text = (data as Record<string, unknown>)[BUNDLE_KEY];
  return typeof text === "string" ? text : fileText;
}
