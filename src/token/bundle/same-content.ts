import type { Bundle } from "../types.ts";
import { serializeBundle } from "./serialize.ts";

/** Whether two bundles have the same content, ignoring `generation` and `generatedAt` and order. */
export function sameBundleContent(a: Bundle, b: Bundle): boolean {
  const strip = (x: Bundle): string => serializeBundle({ ...x, generation: 0, generatedAt: "" });
  return strip(a) === strip(b);
}
