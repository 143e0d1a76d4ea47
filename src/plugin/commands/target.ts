// The one object a changing command works on (an ApiKey or an AccessToken): read it, then
// merge-patch it, each failure turned into a message that says what to do.

import type { KubeClient, KubeObject, Resource } from "../../kube/index.ts";
import type { CommonOptions } from "../args.ts";
import { explain, Hints, type Subject } from "../errors.ts";

/** Who may change each kind: an ApiKey is keyward-admin's, an AccessToken keyward-editor's too. */
const CHANGE_HINTS = { apikey: Hints.changeApiKey, accesstoken: Hints.changeAccessToken } as const;

export interface Target {
  client: KubeClient;
  resource: Resource;
  /** Singular lower-case kind as kubectl spells it. */
  kind: keyof typeof CHANGE_HINTS;
  name: string;
  namespace: string;
}

function subject(t: Target, verb: "get" | "patch"): Subject {
  return {
    kind: t.kind, resource: t.resource.plural, name: t.name, namespace: t.namespace, verb,
    permissionHint: verb === "get" ? Hints.readKeys : CHANGE_HINTS[t.kind],
  };
}

/** Reads the object. */
export async function readTarget<T extends KubeObject>(t: Target): Promise<T> {
  try {
    return await t.client.get<T>(t.resource, { name: t.name, namespace: t.namespace });
  } catch (err) {
    throw explain(err, subject(t, "get"));
  }
}

/** Merge-patches the object (a server dry run with --dry-run). */
export async function patchTarget(t: Target, patch: object, common: CommonOptions): Promise<void> {
  try {
    await t.client.mergePatch(t.resource, { name: t.name, namespace: t.namespace }, patch, { dryRun: common.dryRun });
  } catch (err) {
    throw explain(err, subject(t, "patch"));
  }
}
