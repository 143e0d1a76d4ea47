// kubectl keyward token ACCESSTOKEN: prints the current token from the AccessToken's Secret
// (status.secretName, else spec.secretName, else the AccessToken's name; key "token"), once it
// is sure the Secret is the one the controller wrote for that AccessToken. The token goes to
// stdout and nowhere else.

import type { AccessToken } from "../../api/index.ts";
import { Resources, type KubeObject } from "../../kube/index.ts";
import type { Invocation } from "../args.ts";
import { explain, Hints, PluginError } from "../errors.ts";
import type { CommandContext } from "./context.ts";
import { ACCESS_TOKEN_SECRET_TYPE, TOKEN_DATA_KEY as TOKEN_KEY } from "../../model/names.ts";

export type TokenInvocation = Extract<Invocation, { command: "token" }>;

export { ACCESS_TOKEN_SECRET_TYPE, TOKEN_KEY };

interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

/** The Secret an AccessToken's token is in. */
export function tokenSecretName(accessToken: AccessToken): string {
  return accessToken.status?.secretName ?? accessToken.spec.secretName ?? accessToken.metadata.name ?? "";
}

/**
 * The token in `secret`, checked to be the access-token Secret the controller wrote for
 * `accessToken` (its type, and controlled by that AccessToken); throws saying what is wrong.
 */
export function tokenFromSecret(secret: Secret, accessToken: AccessToken): string {
  const name = secret.metadata?.name ?? "";
  const at = accessToken.metadata.name ?? "";
  const describe = `kubectl describe accesstoken ${at}${accessToken.metadata.namespace === undefined ? "" : ` -n ${accessToken.metadata.namespace}`}`;
  if (secret.type !== ACCESS_TOKEN_SECRET_TYPE) {
    throw new PluginError(
      "ERR_PLUGIN_NO_TOKEN",
      `secret "${name}" of accesstoken "${at}" is of type ${secret.type ?? "Opaque"}, not ${ACCESS_TOKEN_SECRET_TYPE}: it is not one the controller wrote. Check spec.secretName (${describe})`,
    );
  }
  const controlled = (secret.metadata?.ownerReferences ?? []).some(
    (r) => r.controller === true && r.kind === "AccessToken" && r.uid !== "" && r.uid === accessToken.metadata.uid,
  );
  if (!controlled) {
    throw new PluginError(
      "ERR_PLUGIN_NO_TOKEN",
      `secret "${name}" is not controlled by accesstoken "${at}": it is not one the controller wrote for it (see the TokenSecretConflict reason: ${describe})`,
    );
  }
  const encoded = secret.data?.[TOKEN_KEY];
  if (encoded === undefined || encoded === "") {
    throw new PluginError("ERR_PLUGIN_NO_TOKEN", `secret "${name}" holds no token: the controller has not issued one yet (${describe})`);
  }
  const token = Buffer.from(encoded, "base64").toString("utf8");
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    throw new PluginError("ERR_PLUGIN_NO_TOKEN", `secret "${name}" holds no JWT under "${TOKEN_KEY}" (${describe})`);
  }
  return token;
}

export async function runToken(inv: TokenInvocation, ctx: CommandContext): Promise<number> {
  const { client, namespace } = ctx.connect(inv.common);
  let accessToken: AccessToken;
  try {
    accessToken = await client.get<AccessToken>(Resources.accessTokens, { name: inv.accessToken, namespace });
  } catch (err) {
    throw explain(err, { kind: "accesstoken", resource: "accesstokens", name: inv.accessToken, namespace, verb: "get", permissionHint: Hints.readKeys });
  }
  if (accessToken.spec.revoked === true) {
    throw new PluginError(
      "ERR_PLUGIN_NO_TOKEN",
      `accesstoken "${inv.accessToken}" in namespace "${namespace}" is revoked: verifiers refuse its tokens. Create a new AccessToken for apikey "${accessToken.spec.apiKeyName}"`,
    );
  }
  const secretName = tokenSecretName(accessToken);
  let secret: Secret;
  try {
    secret = await client.get<Secret>(Resources.secrets, { name: secretName, namespace });
  } catch (err) {
    const e = explain(err, { kind: "secret", resource: "secrets", name: secretName, namespace, verb: "get", permissionHint: Hints.readToken });
    if (e.code === "ERR_PLUGIN_NOT_FOUND") {
      throw new PluginError(
        "ERR_PLUGIN_NO_TOKEN",
        `secret "${secretName}" of accesstoken "${inv.accessToken}" does not exist (yet): the controller writes it once it has issued a token (kubectl describe accesstoken ${inv.accessToken} -n ${namespace})`,
        { cause: err },
      );
    }
    throw e;
  }
  ctx.io.stdout.write(`${tokenFromSecret(secret, accessToken)}\n`);
  return 0;
}
