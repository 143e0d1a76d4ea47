// The few Kubernetes shapes the config tests read, and the checks they make on them: the
// "restricted" Pod Security Standard, and what an RBAC rule list grants.
import type { Manifest } from "./kustomize.ts";

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

export interface Probe {
  httpGet?: { path: string; port: number | string };
}

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name?: string; containerPort: number; hostPort?: number; protocol?: string }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}

export interface PodSpec {
  serviceAccountName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; hostPath?: unknown; configMap?: { name: string; optional?: boolean } }[];
  topologySpreadConstraints?: { topologyKey: string; maxSkew: number; labelSelector?: { matchLabels?: Record<string, string> } }[];
  affinity?: {
    podAntiAffinity?: {
      preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm: { topologyKey: string; labelSelector?: { matchLabels?: Record<string, string> } } }[];
      requiredDuringSchedulingIgnoredDuringExecution?: { topologyKey: string }[];
    };
  };
}

export interface Deployment extends Manifest {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

export interface Role extends Manifest {
  rules: PolicyRule[];
}

export interface Binding extends Manifest {
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}

/**
 * Why `pod` does not meet the "restricted" Pod Security Standard (empty when it does), per
 * container: non-root, RuntimeDefault seccomp, no privilege escalation, every capability dropped,
 * no host namespaces, ports or paths. Also the stricter rules keyward keeps: a read-only root
 * filesystem and resource requests and limits.
 */
export function restrictedProblems(pod: PodSpec): string[] {
  const problems: string[] = [];
  if (pod.hostNetwork === true) problems.push("hostNetwork is true");
  if (pod.hostPID === true) problems.push("hostPID is true");
  if (pod.hostIPC === true) problems.push("hostIPC is true");
  for (const v of pod.volumes ?? []) if (v.hostPath !== undefined) problems.push(`volume ${v.name} is a hostPath`);
  const podCtx = pod.securityContext ?? {};
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    const ctx = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
    if ((ctx.runAsUser ?? podCtx.runAsUser) === 0) problems.push(`${where}: runs as user 0`);
    if ((ctx.seccompProfile ?? podCtx.seccompProfile)?.type !== "RuntimeDefault") problems.push(`${where}: seccompProfile is not RuntimeDefault`);
    if (ctx.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (ctx.privileged === true) problems.push(`${where}: privileged`);
    if (!(ctx.capabilities?.drop ?? []).includes("ALL")) problems.push(`${where}: does not drop ALL capabilities`);
    const added = (ctx.capabilities?.add ?? []).filter((cap) => cap !== "NET_BIND_SERVICE");
    if (added.length > 0) problems.push(`${where}: adds capabilities ${added.join(", ")}`);
    if (ctx.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
    for (const p of c.ports ?? []) if (p.hostPort !== undefined) problems.push(`${where}: hostPort ${p.hostPort}`);
    for (const kind of ["requests", "limits"] as const) {
      for (const res of ["cpu", "memory"]) {
        if (c.resources?.[kind]?.[res] === undefined) problems.push(`${where}: no ${res} ${kind.slice(0, -1)}`);
      }
    }
  }
  return problems;
}

/** Whether `rules` let `verb` on `group`/`resource` (optionally the object `name`). */
export function grants(rules: readonly PolicyRule[], group: string, resource: string, verb: string, name?: string): boolean {
  return rules.some(
    (r) =>
      (r.apiGroups ?? []).some((g) => g === group || g === "*") &&
      (r.resources ?? []).some((res) => res === resource || res === "*") &&
      r.verbs.some((v) => v === verb || v === "*") &&
      (r.resourceNames === undefined || r.resourceNames.length === 0 || (name !== undefined && r.resourceNames.includes(name))),
  );
}

/** Every (group, resource, verb) a rule list names, as "group/resource:verb" ("core" for ""). */
export function grantTriples(rules: readonly PolicyRule[]): string[] {
  const out: string[] = [];
  for (const r of rules) {
    for (const g of r.apiGroups ?? []) {
      for (const res of r.resources ?? []) {
        for (const v of r.verbs) out.push(`${g === "" ? "core" : g}/${res}:${v}`);
      }
    }
  }
  return [...new Set(out)].sort();
}

/** The port number a probe or Service names, resolving a port name through the container. */
export function portNumber(container: Container, port: number | string): number | undefined {
  if (typeof port === "number") return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Expands `$(VAR)` in a container argument the way the kubelet does, from `env`. */
export function expandArg(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}
