// kubectl keyward revoke-token ACCESSTOKEN: sets spec.revoked to true (one-way). Every token
// issued for the AccessToken goes on the tenant's revocation list and no new one is issued.

import type { AccessToken } from "../../api/index.ts";
import { Resources } from "../../kube/index.ts";
import type { Invocation } from "../args.ts";
import { dryRunSuffix, type CommandContext } from "./context.ts";
import { patchTarget, readTarget, type Target } from "./target.ts";

export type RevokeTokenInvocation = Extract<Invocation, { command: "revoke-token" }>;

/** The merge patch, or null when the AccessToken is already revoked. */
export function planRevokeToken(accessToken: AccessToken): { spec: { revoked: true } } | null {
  return accessToken.spec.revoked === true ? null : { spec: { revoked: true } };
}

export async function runRevokeToken(inv: RevokeTokenInvocation, ctx: CommandContext): Promise<number> {
  const { client, namespace } = ctx.connect(inv.common);
  const target: Target = { client, resource: Resources.accessTokens, kind: "accesstoken", name: inv.accessToken, namespace };
  const patch = planRevokeToken(await readTarget<AccessToken>(target));
  if (patch === null) {
    ctx.io.stdout.write(`accesstoken.keyward.dev/${inv.accessToken} unchanged in namespace ${namespace}: already revoked\n`);
    return 0;
  }
  await patchTarget(target, patch, inv.common);
  ctx.io.stdout.write(
    `accesstoken.keyward.dev/${inv.accessToken} patched in namespace ${namespace}: spec.revoked=true${dryRunSuffix(inv.common)}\n` +
      "Every token issued for it goes on the tenant's revocation list; verifiers refuse them once the bundle arrives.\n",
  );
  return 0;
}
