// The bundle text inside what a file holds: bundle.json itself, or a ConfigMap manifest
// (`kubectl get configmap keyward-bundle -o yaml` or `-o json`) whose data carries it.

import { parse as parseYaml } from "yaml";
import { BUNDLE_DATA_KEY as BUNDLE_KEY, BUNDLE_SIGNATURE_DATA_KEY as SIGNATURE_KEY } from "../../model/names.ts";

export { BUNDLE_KEY, SIGNATURE_KEY };

/** bundle.json, and bundle.jws when a ConfigMap manifest carries it too. */
export function bundleFilesOf(fileText: string): { bundle: string; signature: string | undefined } {
  const data = manifestData(fileText);
  const bundle = data?.[BUNDLE_KEY];
  if (data === null || typeof bundle !== "string") return { bundle: fileText, signature: undefined };
  const signature = data[SIGNATURE_KEY];
  return { bundle, signature: typeof signature === "string" ? signature : undefined };
}

/** The bundle.json text in `fileText`; the text itself when it is not a ConfigMap manifest. */
export function bundleTextOf(fileText: string): string {
  return bundleFilesOf(fileText).bundle;
}

/** The data of a ConfigMap manifest; null when `fileText` is not one. */
function manifestData(fileText: string): Record<string, unknown> | null {
  // A plain search first: parsing a large bundle as YAML on every poll would be wasteful.
  if (!fileText.includes("ConfigMap")) return null;
  let doc: unknown;
  try {
    doc = parseYaml(fileText);
  } catch {
    return null;
  }
  if (typeof doc !== "object" || doc === null || (doc as { kind?: unknown }).kind !== "ConfigMap") return null;
  const data = (doc as { data?: unknown }).data;
  return typeof data === "object" && data !== null ? (data as Record<string, unknown>) : null;
}
