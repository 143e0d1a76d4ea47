// Acting as someone else on a real API server: a ServiceAccount token from the TokenRequest
// API written into a kubeconfig of its own, and SubjectAccessReviews for users and groups.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { eventually, type Kube } from "../../integration/harness/index.ts";

/** A KubeConfig for the cluster of `admin`, authenticated by `token`; its context in `namespace` when given. */
export function bearerKubeConfig(admin: KubeConfig, token: string, user = "token-user", namespace?: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error("the admin kubeconfig has no current cluster");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: "cluster" }],
    users: [{ name: user, token }],
    contexts: [{ name: "ctx", cluster: "cluster", user, ...(namespace === undefined ? {} : { namespace }) }],
    currentContext: "ctx",
  });
  return kc;
}

export interface ServiceAccountKubeConfigOptions {
  /** How long the token is valid; default 10 minutes. */
  expirationSeconds?: number;
  /** The namespace of the kubeconfig's context; default none. */
  contextNamespace?: string;
}

/**
 * A KubeConfig for the cluster of `kube`, authenticated as the ServiceAccount
 * `namespace`/`name` (which must exist) with a token from the TokenRequest API.
 */
export async function serviceAccountKubeConfig(kube: Kube, namespace: string, name: string, opts: ServiceAccountKubeConfigOptions = {}): Promise<KubeConfig> {
  const token = await serviceAccountToken(kube, namespace, name, opts.expirationSeconds);
  return bearerKubeConfig(kube.kc, token, name, opts.contextNamespace);
}

/** Writes `kc` to `dir`/`name` (a kubeconfig file a command can be pointed at) and returns the path. */
export function writeKubeConfig(kc: KubeConfig, dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}

/** A token of the ServiceAccount `namespace`/`name` (which must exist), valid for `expirationSeconds` (default 10 minutes). */
export async function serviceAccountToken(kube: Kube, namespace: string, name: string, expirationSeconds = 600): Promise<string> {
  const review = await kube.json<{ status: { token: string } }>({
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds } },
  });
  return review.status.token;
}

export interface Access {
  verb: string;
  group?: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** Whether the API server's authorizer lets `user` (with `groups`) do `access`. */
export async function canI(kube: Kube, user: string, access: Access, groups: string[] = []): Promise<boolean> {
  const review = await kube.json<{ status: { allowed: boolean } }>({
    method: "POST",
    path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user,
        groups: ["system:authenticated", ...groups],
        resourceAttributes: {
          verb: access.verb,
          group: access.group ?? "",
          resource: access.resource,
          subresource: access.subresource ?? "",
          namespace: access.namespace ?? "",
          name: access.name ?? "",
        },
      },
    },
  });
  return review.status.allowed;
}

/** The user name the API server gives the ServiceAccount `namespace`/`name`. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** The groups of every ServiceAccount of `namespace` (besides system:authenticated). */
export function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`];
}

/** Waits until the authorizer lets `user` do `access`: RBAC written a moment ago takes effect within moments. */
export async function untilAllowed(kube: Kube, what: string, user: string, access: Access, groups: string[] = []): Promise<void> {
  await eventually(what, () => canI(kube, user, access, groups));
}
