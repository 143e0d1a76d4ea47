// kubectl keyward rotate APIKEY [--value TEXT]: sets spec.rotate to a new value, so the
// controller rotates once (a new key is published, activates after prePublish, the current key
// is deposed for the grace period).

import type { ApiKey } from "../../api/index.ts";
import { Resources } from "../../kube/index.ts";
import type { Invocation } from "../args.ts";
import { shortKid } from "../format.ts";
import { dryRunSuffix, warn, type CommandContext } from "./context.ts";
import { planRequest, type RequestPlan } from "./requests.ts";
import { patchTarget, readTarget, type Target } from "./target.ts";

export type RotateInvocation = Extract<Invocation, { command: "rotate" }>;

/** The request, with a warning when a rotation is already pending (a prepared key exists). */
export function planRotate(apiKey: ApiKey, now: number, value?: string): RequestPlan {
  const plan = planRequest(apiKey, "rotate", now, value);
  for (const key of apiKey.status?.keys ?? []) {
    if (key.state !== "prepared") continue;
    const when = key.activatesAt === undefined ? "" : ` and becomes active at ${key.activatesAt}`;
    plan.warnings.unshift(
      `a rotation of apikey "${apiKey.metadata.name ?? ""}" is already pending: key ${shortKid(key.kid)} is prepared${when}. ` +
        "Rotating again before tokens were redistributed may break them",
    );
  }
  return plan;
}

export async function runRotate(inv: RotateInvocation, ctx: CommandContext): Promise<number> {
  const { client, namespace } = ctx.connect(inv.common);
  const target: Target = { client, resource: Resources.apiKeys, kind: "apikey", name: inv.apiKey, namespace };
  const plan = planRotate(await readTarget<ApiKey>(target), ctx.now(), inv.value);
  for (const w of plan.warnings) warn(ctx, w);
  await patchTarget(target, plan.patch, inv.common);
  ctx.io.stdout.write(
    `apikey.keyward.dev/${inv.apiKey} patched in namespace ${namespace}: spec.rotate="${plan.value}"${dryRunSuffix(inv.common)}\n` +
      "The controller publishes a new key, makes it active after the rotation policy's prePublish, and deposes the current key for the grace period.\n",
  );
  return 0;
}
