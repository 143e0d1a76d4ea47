// The ApiKey request fields (spec.rotate, spec.dropDeposed, spec.revokeAll): each new value
// makes the controller act once. A value is new when it is neither the field's current value
// nor the last value the controller acted on (status.observedRequests).

import type { ApiKey } from "../../api/index.ts";
import type { RequestField } from "../../model/requests.ts";
import { PluginError } from "../errors.ts";

export type { RequestField };

export interface RequestPlan {
  field: RequestField;
  value: string;
  patch: { spec: Partial<Record<RequestField, string>> };
  warnings: string[];
}

/**
 * The merge patch that makes a new request on `field`: `value` when given, else the time `now`
 * in RFC 3339 (made unique with a suffix should it be taken). Warns when the previous request
 * on the field has not been acted on yet.
 */
export function planRequest(apiKey: ApiKey, field: RequestField, now: number, value?: string): RequestPlan {
  const current = apiKey.spec?.[field];
  const observed = apiKey.status?.observedRequests?.[field];
  const where = `apikey "${apiKey.metadata.name ?? ""}" in namespace "${apiKey.metadata.namespace ?? ""}"`;
  const taken = (v: string): boolean => v === current || v === observed;
  let chosen: string;
  if (value !== undefined) {
    if (taken(value)) {
      const how = value === current ? `is already spec.${field} of ${where}` : `was already acted on for ${where} (status.observedRequests.${field})`;
      throw new PluginError(
        "ERR_PLUGIN_REFUSED",
        `--value "${value}" ${how}: a request acts once per new value, so this one would do nothing. Choose another --value, or leave it out to use the current time`,
      );
    }
    chosen = value;
  } else {
    const base = new Date(now).toISOString();
    chosen = base;
    for (let n = 1; taken(chosen); n++) chosen = `${base}-${n}`;
  }
  const warnings: string[] = [];
  if (current !== undefined && current !== observed) {
    warnings.push(`the previous request spec.${field}="${current}" of ${where} has not been acted on yet; the controller acts once on the latest value`);
  }
  return { field, value: chosen, patch: { spec: { [field]: chosen } }, warnings };
}
