// Typed errors of `kubectl keyward`, with stable codes, and the translation of API errors into
// messages that name the object and the fix.

import { KubeApiError, KubeConfigError, KubeError } from "../kube/index.ts";

export const PluginErrorCodes = [
  /** The command line is wrong: unknown command or flag, missing or malformed argument. Exit 2. */
  "ERR_PLUGIN_USAGE",
  /** The object named does not exist (or keyward's CRDs are not installed). */
  "ERR_PLUGIN_NOT_FOUND",
  /** RBAC refused the request. */
  "ERR_PLUGIN_FORBIDDEN",
  /** The API server refused the credentials. */
  "ERR_PLUGIN_UNAUTHORIZED",
  /** The API server refused the change (validation): it names the field. */
  "ERR_PLUGIN_INVALID",
  /** The request makes no sense for the object as it is (e.g. moving a cut-off earlier). */
  "ERR_PLUGIN_REFUSED",
  /** No usable kubeconfig, or the API server cannot be reached. */
  "ERR_PLUGIN_CONNECTION",
  /** The token Secret is missing, of the wrong type, or holds no token. */
  "ERR_PLUGIN_NO_TOKEN",
] as const;

export type PluginErrorCode = (typeof PluginErrorCodes)[number];

export class PluginError extends Error {
  readonly code: PluginErrorCode;
  constructor(code: PluginErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PluginError";
    this.code = code;
  }
}

export class UsageError extends PluginError {
  constructor(message: string) {
    super("ERR_PLUGIN_USAGE", message);
    this.name = "UsageError";
  }
}

/** What a request was about, for messages: `apikey "reporting" in namespace "acme"`. */
export interface Subject {
  /** Singular lower-case kind as kubectl spells it: "apikey", "accesstoken", "secret", "configmap". */
  kind: string;
  /** Plural resource as RBAC spells it: "apikeys", "secrets". */
  resource: string;
  name?: string | undefined;
  namespace?: string | undefined;
  /** The verb RBAC checks: get, list, patch. */
  verb: string;
  /** What to do when RBAC refuses it. */
  permissionHint: string;
}

export function describeSubject(s: Pick<Subject, "kind" | "name" | "namespace">): string {
  const name = s.name === undefined ? `${s.kind}s` : `${s.kind} "${s.name}"`;
  return s.namespace === undefined ? name : `${name} in namespace "${s.namespace}"`;
}

/** Turns an error of the Kubernetes client into a PluginError whose message says what to do. */
export function explain(err: unknown, subject: Subject): PluginError {
  if (err instanceof PluginError) return err;
  if (err instanceof KubeConfigError) {
    return new PluginError("ERR_PLUGIN_CONNECTION", `${err.message}. Point --kubeconfig (or KUBECONFIG) at a kubeconfig that exists, and --context at one of its contexts`, { cause: err });
  }
  if (err instanceof KubeApiError) {
    const server = err.serverMessage ?? `HTTP ${err.status}`;
    switch (err.code) {
      case "ERR_KUBE_NOT_FOUND":
        if (/could not find the requested resource/i.test(server)) {
          return new PluginError(
            "ERR_PLUGIN_NOT_FOUND",
            `the API server does not serve ${subject.resource}: keyward's CRDs are not installed in this cluster (kubectl apply -k config/crd), or the kubeconfig points at another cluster`,
            { cause: err },
          );
        }
        return new PluginError(
          "ERR_PLUGIN_NOT_FOUND",
          `${describeSubject(subject)} not found: check the name (kubectl get ${subject.resource}${subject.namespace === undefined ? "" : ` -n ${subject.namespace}`}) and the namespace (-n NAMESPACE)`,
          { cause: err },
        );
      case "ERR_KUBE_FORBIDDEN":
        return new PluginError(
          "ERR_PLUGIN_FORBIDDEN",
          `forbidden: you may not ${subject.verb} ${describeSubject(subject)} (${server}). ${subject.permissionHint}`,
          { cause: err },
        );
      case "ERR_KUBE_UNAUTHORIZED":
        return new PluginError(
          "ERR_PLUGIN_UNAUTHORIZED",
          `the API server refused the credentials of the kubeconfig (${server}): log in again or choose another --context`,
          { cause: err },
        );
      case "ERR_KUBE_INVALID":
        return new PluginError("ERR_PLUGIN_INVALID", `the API server refused the change to ${describeSubject(subject)}: ${server}`, { cause: err });
      case "ERR_KUBE_UNAVAILABLE":
        return new PluginError(
          "ERR_PLUGIN_CONNECTION",
          `${err.message} (to ${subject.verb} ${describeSubject(subject)}): check --kubeconfig and --context, and that the cluster is up`,
          { cause: err },
        );
      default:
        return new PluginError("ERR_PLUGIN_REFUSED", `${subject.verb} ${describeSubject(subject)}: ${server}`, { cause: err });
    }
  }
  if (err instanceof KubeError) return new PluginError("ERR_PLUGIN_CONNECTION", err.message, { cause: err });
  throw err;
}

/** Hints for the permission a command needs (the role x action table of docs/security.md). */
export const Hints = {
  readKeys: "Reading keyward objects needs the view role (or keyward-viewer) in the namespace.",
  changeApiKey:
    "Rotating and revoking an ApiKey change its spec, which is API key administration: it needs keyward-admin in the namespace (the admin role has it, edit does not).",
  changeAccessToken:
    "Revoking an AccessToken changes its spec: it needs keyward-editor or keyward-admin in the namespace (the admin role has it, edit does not).",
  readToken:
    "Reading a token needs get on its Secret, which the edit and admin roles have and no keyward role grants (docs/operations.md, \"Who can read tokens\").",
  readBundle: "Reading the bundle ConfigMap needs get on configmaps in the namespace (the view role has it).",
} as const;
