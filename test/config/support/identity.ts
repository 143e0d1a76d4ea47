// Acting as someone else on a real API server: a ServiceAccount token from the TokenRequest
// API written into a kubeconfig of its own, and SubjectAccessReviews for users and groups.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { Kube } from "../../integration/harness/index.ts";

/** A KubeConfig for the cluster of `admin`, authenticated by `token`. */
export function bearerKubeConfig(admin: KubeConfig, token: string, user = "token-user"): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (cluster === null) throw new Error("the admin kubeconfig has no current cluster");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: "cluster" }],
    users: [{ name: user, token }],
    contexts: [{ name: "ctx", cluster: "cluster", user }],
    currentContext: "ctx",
  });
  return kc;
}

/** Writes `kc` to `dir`/`name` (a kubeconfig file a command can be pointed at) and returns the path. */
export function writeKubeConfig(kc: KubeConfig, dir: string, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
  return path;
}

/** A token of the ServiceAccount `namespace`/`name` (which must exist), valid for 10 minutes. */
export async function serviceAccountToken(kube: Kube, namespace: string, name: string): Promise<string> {
  const review = await kube.json<{ status: { token: string } }>({
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600 } },
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
