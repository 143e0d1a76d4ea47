// kubectl keyward revoke APIKEY --deposed|--all|--before TIME: the bulk revocations, each a
// change of the ApiKey's spec. Irreversible.
//
//   --deposed       spec.dropDeposed: drop the deposed key now (tokens issued before the last rotation)
//   --all           spec.revokeAll: rotate without pre-publication and drop the deposed key (every token)
//   --before TIME   spec.revokeIssuedBefore: refuse tokens whose iat is earlier (can only move later)

import type { ApiKey } from "../../api/index.ts";
import { Resources } from "../../kube/index.ts";
import { parseRfc3339 } from "../../token/index.ts";
import type { Invocation } from "../args.ts";
import { PluginError } from "../errors.ts";
import { formatTime } from "../format.ts";
import { dryRunSuffix, warn, type CommandContext } from "./context.ts";
import { planRequest, type RequestField } from "./requests.ts";
import { patchTarget, readTarget, type Target } from "./target.ts";

export type RevokeInvocation = Extract<Invocation, { command: "revoke" }>;

/** How far in the future a --before time may be: clock skew between this machine and the cluster. */
export const FUTURE_SKEW_MS = 60_000;

export interface RevokePlan {
  /** The merge patch; null when the ApiKey already is as asked (nothing to do). */
  patch: { spec: Partial<Record<RequestField | "revokeIssuedBefore", string>> } | null;
  field: RequestField | "revokeIssuedBefore";
  value: string;
  warnings: string[];
  /** What happens, for people. */
  effect: string;
}

export function planRevoke(apiKey: ApiKey, action: RevokeInvocation["action"], now: number): RevokePlan {
  const name = apiKey.metadata.name ?? "";
  if (action.kind === "deposed") {
    const plan = planRequest(apiKey, "dropDeposed", now, action.value);
    const hasDeposed = (apiKey.status?.keys ?? []).some((k) => k.state === "deposed");
    if (!hasDeposed) plan.warnings.push(`apikey "${name}" has no deposed key now: the request is recorded but there is nothing to drop`);
    return { ...plan, effect: "The controller drops the deposed key: tokens issued before the last rotation are refused." };
  }
  if (action.kind === "all") {
    const plan = planRequest(apiKey, "revokeAll", now, action.value);
    return {
      ...plan,
      effect: "The controller rotates without pre-publication and drops the deposed key: every token issued so far is refused; AccessTokens are re-issued with the new key.",
    };
  }
  const at = action.time === "now" ? now : parseRfc3339(action.time);
  if (at === null) throw new PluginError("ERR_PLUGIN_REFUSED", `--before "${action.time}" is not an RFC 3339 time`);
  if (at > now + FUTURE_SKEW_MS) {
    throw new PluginError(
      "ERR_PLUGIN_REFUSED",
      `--before ${action.time} is in the future: tokens the controller issues until then would be refused as soon as they are issued. Give a time up to now (or "now")`,
    );
  }
  const value = at % 1000 === 0 ? formatTime(at) : new Date(at).toISOString();
  const current = apiKey.spec?.revokeIssuedBefore;
  const currentAt = current === undefined ? null : parseRfc3339(current);
  const effect = `Verifiers refuse the tokens of apikey "${name}" issued before ${value}.`;
  if (currentAt !== null && currentAt === at) {
    return { patch: null, field: "revokeIssuedBefore", value: current!, warnings: [], effect };
  }
  if (currentAt !== null && currentAt > at) {
    throw new PluginError(
      "ERR_PLUGIN_REFUSED",
      `spec.revokeIssuedBefore of apikey "${name}" is already ${current!}, later than ${value}: it can only move later (revocation is irreversible). Give a later --before`,
    );
  }
  return { patch: { spec: { revokeIssuedBefore: value } }, field: "revokeIssuedBefore", value, warnings: [], effect };
}

export async function runRevoke(inv: RevokeInvocation, ctx: CommandContext): Promise<number> {
  const { client, namespace } = ctx.connect(inv.common);
  const target: Target = { client, resource: Resources.apiKeys, kind: "apikey", name: inv.apiKey, namespace };
  const plan = planRevoke(await readTarget<ApiKey>(target), inv.action, ctx.now());
  for (const w of plan.warnings) warn(ctx, w);
  if (plan.patch === null) {
    ctx.io.stdout.write(`apikey.keyward.dev/${inv.apiKey} unchanged in namespace ${namespace}: spec.${plan.field} is already "${plan.value}"\n`);
    return 0;
  }
  await patchTarget(target, plan.patch, inv.common);
  ctx.io.stdout.write(`apikey.keyward.dev/${inv.apiKey} patched in namespace ${namespace}: spec.${plan.field}="${plan.value}"${dryRunSuffix(inv.common)}\n${plan.effect}\n`);
  return 0;
}
