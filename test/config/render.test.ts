// config/ rendered with a real kustomize: every kustomization builds, and what it builds keeps
// keyward's promises: restricted pods, least-privilege RBAC without wildcards, readers who cannot
// read Secrets, two controller replicas with leader election and a disruption budget, and a
// verifier sidecar whose flags the verifier itself accepts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseControllerArgs } from "../../src/cli/controller/options.ts";
import { bundleVolume } from "../../src/injector/sidecar.ts";
import { bundleSegmentNames } from "../../src/model/names.ts";
import { parseVerifierArgs } from "../../src/verifier/config.ts";
import { readCrdFiles } from "../integration/harness/crd-files.ts";
import {
  expandArg,
  grants,
  grantTriples,
  portNumber,
  restrictedProblems,
  type Binding,
  type Container,
  type Deployment,
  type PolicyRule,
  type Role,
} from "./support/k8s.ts";
import { findKustomizations, KUSTOMIZE_BUILD_TIMEOUT_MS, kustomizeBinary, kustomizeBuild, one, packageVersion, REPO_ROOT, type Manifest } from "./support/kustomize.ts";

const NAMESPACE = "keyward-system";
const IMAGE = `ghcr.io/keyward/keyward:${packageVersion()}`;
/** The controller's ClusterRole covers these kinds, as the controller uses them. */
const CONTROLLER_KINDS = ["apikeys", "accesstokens", "accesspolicies", "rotationpolicies", "clusterrotationpolicies"];
/** The kinds people create by hand (an IssuedToken is a record the token service writes). */
const AUTHORED_KINDS = ["apikeys", "accesstokens", "accesspolicies", "rotationpolicies"];
/** Every kind of crds/: people's roles must cover each one. */
const CRDS = readCrdFiles();
const ALL_KINDS = CRDS.map((c) => c.plural).sort();
const NAMESPACED_KINDS = CRDS.filter((c) => c.scope === "Namespaced").map((c) => c.plural).sort();
/** Kustomizations that use the verifier Components (a Component is rendered through one). */
const VERIFIER_EXAMPLES = { configmap: "test/e2e/echo/configmap", file: "test/e2e/echo/file" } as const;

let rendered: Map<string, Manifest[]>;

beforeAll(() => {
  kustomizeBinary();
  rendered = new Map();
  for (const k of [...findKustomizations("config"), ...findKustomizations("test/e2e")]) {
    if (k.kind === "Kustomization") rendered.set(k.dir, kustomizeBuild(k.dir));
  }
}, KUSTOMIZE_BUILD_TIMEOUT_MS);

function build(dir: string): Manifest[] {
  const out = rendered.get(dir);
  if (out === undefined) throw new Error(`${dir} was not rendered (rendered: ${[...rendered.keys()].join(", ")})`);
  return out;
}

const controllerDeployment = (): Deployment => one<Deployment>(build("config/default"), "Deployment", "keyward-controller");
const controllerContainer = (): Container => {
  const c = controllerDeployment().spec.template.spec.containers.find((x) => x.name === "controller");
  if (c === undefined) throw new Error("the controller Deployment has no container named controller");
  return c;
};
const clusterRole = (name: string): Role => one<Role>(build("config/default"), "ClusterRole", name);

describe("every kustomization", () => {
  it("builds, and every Component is used by a kustomization that builds", () => {
    const all = [...findKustomizations("config"), ...findKustomizations("test/e2e")];
    expect(all.filter((k) => k.kind === "Kustomization").map((k) => k.dir)).toEqual(expect.arrayContaining([
      "config/crd", "config/default", "config/manager", "config/prometheus", "config/rbac", "config/samples", ...Object.values(VERIFIER_EXAMPLES),
    ]));
    expect(all.filter((k) => k.kind === "Component").map((k) => k.dir).sort()).toEqual(["config/issuer/component", "config/verifier", "config/verifier/common", "config/verifier/file", "config/webhook"]);
    for (const [dir, manifests] of rendered) expect(manifests.length, dir).toBeGreaterThan(0);
  });

  it("uses only the keyward image of this version, pulled only when absent", () => {
    for (const [dir, manifests] of rendered) {
      for (const d of manifests.filter((m): m is Deployment => m.kind === "Deployment")) {
        for (const c of d.spec.template.spec.containers) {
          expect(c.image, `${dir}: ${d.metadata.name}/${c.name}`).toBe(IMAGE);
          expect((c as { imagePullPolicy?: string }).imagePullPolicy, `${dir}: ${d.metadata.name}/${c.name}`).toBe("IfNotPresent");
        }
      }
    }
  });
});

describe("config/default", () => {
  it("installs every CRD of crds/, the namespace keyward-system and everything namespaced into it", () => {
    const manifests = build("config/default");
    expect(manifests.filter((m) => m.kind === "CustomResourceDefinition").map((m) => m.metadata.name).sort()).toEqual(
      ALL_KINDS.map((k) => `${k}.keyward.dev`),
    );
    const clusterScoped = new Set(["CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"]);
    for (const m of manifests.filter((x) => !clusterScoped.has(x.kind))) {
      expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBe(NAMESPACE);
    }
    for (const m of manifests.filter((x) => clusterScoped.has(x.kind))) {
      expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBeUndefined();
    }
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(expect.arrayContaining([
      "Namespace/keyward-system",
      "ServiceAccount/keyward-controller",
      "ClusterRole/keyward-controller",
      "ClusterRoleBinding/keyward-controller",
      "Role/keyward-leader-election",
      "RoleBinding/keyward-leader-election",
      "ClusterRole/keyward-admin",
      "ClusterRole/keyward-editor",
      "ClusterRole/keyward-viewer",
      "ClusterRole/keyward-clusterrotationpolicy-admin",
      "Deployment/keyward-controller",
      "PodDisruptionBudget/keyward-controller",
      "Service/keyward-controller-metrics",
    ]));
  });

  it("labels every object with the version of package.json", () => {
    for (const m of build("config/default")) {
      expect(m.metadata.labels?.["app.kubernetes.io/version"], `${m.kind}/${m.metadata.name}`).toBe(packageVersion());
      expect(m.metadata.labels?.["app.kubernetes.io/part-of"], `${m.kind}/${m.metadata.name}`).toBe("keyward");
    }
  });

  it("has Pod Security Admission enforce the restricted profile on its namespace", () => {
    const labels = one(build("config/default"), "Namespace", NAMESPACE).metadata.labels ?? {};
    expect(labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(labels["pod-security.kubernetes.io/warn"]).toBe("restricted");
  });
});

describe("the controller Deployment", () => {
  it("runs two replicas with leader election and the pod's name and namespace from the downward API", () => {
    const d = controllerDeployment();
    expect(d.spec.replicas).toBe(2);
    const c = controllerContainer();
    expect(c.args?.[0]).toBe("controller");
    expect(c.args).toContain("--leader-elect");
    const fromField = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    expect(fromField).toMatchObject({ POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace" });
    expect(d.spec.template.spec.serviceAccountName).toBe("keyward-controller");
  });

  it("meets the restricted Pod Security Standard, with a read-only root filesystem and resource limits", () => {
    const pod = controllerDeployment().spec.template.spec;
    expect(restrictedProblems(pod)).toEqual([]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: "RuntimeDefault" } });
  });

  it("passes flags the controller accepts: leader election in its own namespace, health on 8081, metrics on 8080", () => {
    const c = controllerContainer();
    const config = parseControllerArgs(c.args!.slice(1), { POD_NAMESPACE: NAMESPACE, POD_NAME: "keyward-controller-0" });
    expect(config.leaderElect).toBe(true);
    expect(config.leaderElectionNamespace).toBe(NAMESPACE);
    expect(config.health).toEqual({ host: "0.0.0.0", port: 8081 });
    expect(config.metrics).toEqual({ host: "0.0.0.0", port: 8080 });
  });

  it("probes /healthz and /readyz on the health port 8081 and serves metrics on 8080", () => {
    const c = controllerContainer();
    expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
    expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(portNumber(c, c.livenessProbe!.httpGet!.port)).toBe(8081);
    expect(portNumber(c, c.readinessProbe!.httpGet!.port)).toBe(8081);
    expect(portNumber(c, "metrics")).toBe(8080);
    expect(c.args).toEqual(expect.arrayContaining(["--health-probe-bind-address=0.0.0.0:8081", "--metrics-bind-address=0.0.0.0:8080"]));
  });

  it("spreads its replicas across nodes", () => {
    const d = controllerDeployment();
    const pod = d.spec.template.spec;
    const podLabels = d.spec.template.metadata.labels;
    const spread = (pod.topologySpreadConstraints ?? []).find((t) => t.topologyKey === "kubernetes.io/hostname");
    expect(spread?.maxSkew).toBe(1);
    expect(spread?.labelSelector?.matchLabels).toEqual(d.spec.selector.matchLabels);
    const anti = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm;
    expect(anti?.topologyKey).toBe("kubernetes.io/hostname");
    expect(podLabels).toMatchObject(anti?.labelSelector?.matchLabels ?? { missing: "selector" });
  });

  it("keeps one replica through voluntary disruptions (a PodDisruptionBudget selecting its pods)", () => {
    const pdb = one<Manifest & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } }>(
      build("config/default"),
      "PodDisruptionBudget",
      "keyward-controller",
    );
    expect(pdb.spec.minAvailable).toBe(1);
    expect(controllerDeployment().spec.template.metadata.labels).toMatchObject(pdb.spec.selector.matchLabels);
  });

  it("has a metrics Service that selects its pods and reaches the metrics port", () => {
    const svc = one<Manifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } }>(
      build("config/default"),
      "Service",
      "keyward-controller-metrics",
    );
    expect(controllerDeployment().spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect(svc.spec.ports).toHaveLength(1);
    expect(portNumber(controllerContainer(), svc.spec.ports[0]!.targetPort)).toBe(8080);
  });
});

describe("the controller's RBAC", () => {
  it("grants exactly the verbs the controller needs, with no wildcard anywhere", () => {
    const role = clusterRole("keyward-controller");
    for (const rule of role.rules) {
      expect(rule.apiGroups).not.toContain("*");
      expect(rule.resources).not.toContain("*");
      expect(rule.verbs).not.toContain("*");
      expect(rule.nonResourceURLs).toBeUndefined();
    }
    const expected: string[] = [];
    const add = (group: string, resources: string[], verbs: string[]): void => {
      for (const r of resources) for (const v of verbs) expected.push(`${group}/${r}:${v}`);
    };
    add("keyward.dev", CONTROLLER_KINDS, ["list", "watch"]);
    add("keyward.dev", ["apikeys", "accesstokens"], ["patch"]);
    add("keyward.dev", ["apikeys/finalizers", "accesstokens/finalizers"], ["update"]);
    add("keyward.dev", CONTROLLER_KINDS.map((k) => `${k}/status`), ["patch"]);
    add("core", ["secrets"], ["get", "list", "watch", "create", "update", "patch", "delete"]);
    add("core", ["configmaps"], ["get", "list", "watch", "create", "update"]);
    add("core", ["namespaces"], ["list", "watch"]);
    add("core", ["events"], ["create", "patch"]);
    add("coordination.k8s.io", ["leases"], ["list", "watch"]);
    expect(grantTriples(role.rules)).toEqual([...new Set(expected)].sort());
  });

  it("never lets the controller create or delete the user's keyward objects, or escalate", () => {
    const rules = clusterRole("keyward-controller").rules;
    for (const kind of AUTHORED_KINDS) {
      expect(grants(rules, "keyward.dev", kind, "create"), kind).toBe(false);
      expect(grants(rules, "keyward.dev", kind, "delete"), kind).toBe(false);
    }
    for (const verb of ["escalate", "bind", "impersonate"]) {
      expect(rules.some((r) => r.verbs.includes(verb)), verb).toBe(false);
    }
  });

  it("binds the ClusterRole and the leader-election Role to the controller's ServiceAccount", () => {
    const manifests = build("config/default");
    const subject = { kind: "ServiceAccount", name: "keyward-controller", namespace: NAMESPACE };
    const crb = one<Binding>(manifests, "ClusterRoleBinding", "keyward-controller");
    expect(crb.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "keyward-controller" });
    expect(crb.subjects).toEqual([subject]);
    const rb = one<Binding>(manifests, "RoleBinding", "keyward-leader-election");
    expect(rb.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "keyward-leader-election" });
    expect(rb.subjects).toEqual([subject]);
  });

  it("allows only get, create and update on Leases, in the controller's own namespace, and reading and renewing only its Lease", () => {
    const role = one<Role>(build("config/default"), "Role", "keyward-leader-election");
    expect(role.metadata.namespace).toBe(NAMESPACE);
    expect(grantTriples(role.rules)).toEqual(["coordination.k8s.io/leases:create", "coordination.k8s.io/leases:get", "coordination.k8s.io/leases:update"]);
    const lease = parseControllerArgs(controllerContainer().args!.slice(1), { POD_NAMESPACE: NAMESPACE }).leaseName;
    expect(grants(role.rules, "coordination.k8s.io", "leases", "update", lease)).toBe(true);
    expect(grants(role.rules, "coordination.k8s.io", "leases", "update", "another-lease")).toBe(false);
  });
});

describe("config/shards", () => {
  const shards = (): Deployment[] => build("config/shards").filter((m) => m.kind === "Deployment") as unknown as Deployment[];
  const argsOf = (d: Deployment): string[] => d.spec.template.spec.containers.find((x) => x.name === "controller")?.args?.slice(1) ?? [];

  it("runs two controller Deployments, each owning its own namespaces with a Lease of its own, on pods no other Deployment selects", () => {
    const ds = shards();
    expect(ds.map((d) => d.metadata.name).sort()).toEqual(["keyward-controller-shard-a", "keyward-controller-shard-b"]);
    const configs = ds.map((d) => parseControllerArgs(argsOf(d), { POD_NAMESPACE: NAMESPACE }));
    expect(configs.map((c) => c.shardSelector).sort()).toEqual(["keyward.dev/shard=a", "keyward.dev/shard=b"]);
    expect(configs.map((c) => c.leaseName).sort()).toEqual(["keyward-controller-shard-a", "keyward-controller-shard-b"]);
    expect(configs.every((c) => c.leaderElect)).toBe(true);
    const [a, b] = ds.map((d) => d.spec.selector.matchLabels);
    expect(a?.["keyward.dev/shard"]).not.toBe(b?.["keyward.dev/shard"]);
    for (const d of ds) expect(d.spec.template.metadata.labels).toEqual(expect.objectContaining(d.spec.selector.matchLabels));
  });

  it("lets each shard read and renew its own Lease, and leaves keyward-system out of every shard", () => {
    const role = one<Role>(build("config/shards"), "Role", "keyward-leader-election");
    for (const d of shards()) {
      const lease = parseControllerArgs(argsOf(d), { POD_NAMESPACE: NAMESPACE }).leaseName;
      expect(grants(role.rules, "coordination.k8s.io", "leases", "update", lease)).toBe(true);
    }
    expect(grants(role.rules, "coordination.k8s.io", "leases", "update", "keyward-controller")).toBe(false);
    const ns = one(build("config/shards"), "Namespace", NAMESPACE);
    expect(Object.keys(ns.metadata.labels ?? {})).not.toContain("keyward.dev/shard");
  });
});

describe("the roles for people", () => {
  const aggregation = (role: Role): string[] =>
    Object.entries(role.metadata.labels ?? {})
      .filter(([k, v]) => k.startsWith("rbac.authorization.k8s.io/aggregate-to-") && v === "true")
      .map(([k]) => k.slice("rbac.authorization.k8s.io/aggregate-to-".length));

  it("aggregate keyward-viewer into view and keyward-admin into admin, and keyward-editor nowhere", () => {
    expect(aggregation(clusterRole("keyward-viewer"))).toEqual(["view"]);
    expect(aggregation(clusterRole("keyward-editor"))).toEqual([]);
    expect(aggregation(clusterRole("keyward-admin"))).toEqual(["admin"]);
    expect(aggregation(clusterRole("keyward-clusterrotationpolicy-admin"))).toEqual([]);
  });

  it("aggregate no role of any kustomization into edit, so that a namespace editor neither administers keys nor obtains a token through keyward", () => {
    for (const [dir, manifests] of rendered) {
      for (const role of manifests.filter((m): m is Role => m.kind === "ClusterRole")) {
        expect(aggregation(role), `${dir}: ClusterRole/${role.metadata.name}`).not.toContain("edit");
      }
    }
  });

  it("let the viewer read every keyward kind and its status, and nothing else", () => {
    const rules = clusterRole("keyward-viewer").rules;
    const reads = ["get", "list", "watch"];
    const expected = ALL_KINDS.flatMap((k) => [k, `${k}/status`]).flatMap((r) => reads.map((v) => `keyward.dev/${r}:${v}`));
    expect(grantTriples(rules)).toEqual(expected.sort());
  });

  it("give no Secret access to anyone but the controller", () => {
    for (const [dir, manifests] of rendered) {
      for (const role of manifests.filter((m): m is Role => m.kind === "ClusterRole" || m.kind === "Role")) {
        if (role.metadata.name === "keyward-controller") continue;
        for (const verb of ["get", "list", "watch"]) {
          expect(grants(role.rules, "", "secrets", verb), `${dir}: ${role.kind}/${role.metadata.name} ${verb} secrets`).toBe(false);
        }
      }
    }
  });

  it("let the editor read the namespaced kinds, request and revoke AccessTokens and revoke IssuedTokens, and nothing else", () => {
    const reads = NAMESPACED_KINDS.flatMap((k) => ["get", "list", "watch"].map((v) => `keyward.dev/${k}:${v}`));
    const accessTokens = ["create", "update", "patch", "delete", "deletecollection"].map((v) => `keyward.dev/accesstokens:${v}`);
    const issuedTokens = ["update", "patch"].map((v) => `keyward.dev/issuedtokens:${v}`);
    expect(grantTriples(clusterRole("keyward-editor").rules)).toEqual([...new Set([...reads, ...accessTokens, ...issuedTokens])].sort());
  });

  it("keep ApiKeys, AccessPolicies and RotationPolicies (rotate and revoke included) to the admin, and IssuedTokens' creation to the token service", () => {
    const editor = clusterRole("keyward-editor").rules;
    const admin = clusterRole("keyward-admin").rules;
    for (const kind of ["apikeys", "accesspolicies", "rotationpolicies"]) {
      for (const verb of ["create", "update", "patch", "delete", "deletecollection"]) {
        expect(grants(editor, "keyward.dev", kind, verb), `keyward-editor ${verb} ${kind}`).toBe(false);
        expect(grants(admin, "keyward.dev", kind, verb), `keyward-admin ${verb} ${kind}`).toBe(true);
      }
    }
    for (const rules of [editor, admin]) expect(grants(rules, "keyward.dev", "issuedtokens", "create")).toBe(false);
    expect(grants(editor, "keyward.dev", "issuedtokens", "delete")).toBe(false);
    expect(grants(admin, "keyward.dev", "issuedtokens", "delete")).toBe(true);
  });

  it("give the admin every rule of the editor (so that a namespace admin may bind keyward-editor), but no status, ClusterRotationPolicy or wildcard", () => {
    const admin = clusterRole("keyward-admin").rules;
    for (const triple of grantTriples(clusterRole("keyward-editor").rules)) expect(grantTriples(admin), triple).toContain(triple);
    for (const name of ["keyward-editor", "keyward-admin"]) {
      const rules = clusterRole(name).rules;
      for (const kind of NAMESPACED_KINDS) {
        expect(grants(rules, "keyward.dev", `${kind}/status`, "update"), `${name} update ${kind}/status`).toBe(false);
        expect(grants(rules, "keyward.dev", `${kind}/status`, "patch"), `${name} patch ${kind}/status`).toBe(false);
      }
      expect(grants(rules, "keyward.dev", "clusterrotationpolicies", "create"), `${name} create clusterrotationpolicies`).toBe(false);
      expect(rules.every((r) => !r.verbs.includes("*") && !(r.resources ?? []).includes("*")), name).toBe(true);
    }
    expect(grants(admin, "keyward.dev", "apikeys", "deletecollection")).toBe(true);
  });

  it("keep ClusterRotationPolicies to a role of their own", () => {
    const rules: PolicyRule[] = clusterRole("keyward-clusterrotationpolicy-admin").rules;
    for (const verb of ["create", "update", "patch", "delete"]) expect(grants(rules, "keyward.dev", "clusterrotationpolicies", verb), verb).toBe(true);
    expect(grantTriples(rules).every((t) => t.startsWith("keyward.dev/clusterrotationpolicies"))).toBe(true);
    expect(grants(rules, "keyward.dev", "clusterrotationpolicies/status", "update")).toBe(false);
  });
});

describe("the verifier Component", () => {
  const sidecarOf = (d: Deployment): Container => {
    const c = d.spec.template.spec.containers.find((x) => x.name === "keyward-verifier");
    if (c === undefined) throw new Error(`Deployment ${d.metadata.name} has no keyward-verifier container`);
    return c;
  };
  const deployment = (mode: keyof typeof VERIFIER_EXAMPLES): Deployment => one<Deployment>(build(VERIFIER_EXAMPLES[mode]), "Deployment", "echo");
  const argsOf = (c: Container, namespace: string): string[] => (c.args ?? []).map((a) => expandArg(a, { POD_NAMESPACE: namespace }));

  for (const mode of ["configmap", "file"] as const) {
    it(`adds a ${mode}-mode sidecar whose flags the verifier accepts, next to the workload's own container`, () => {
      const d = deployment(mode);
      expect(d.spec.template.spec.containers.map((c) => c.name).sort()).toEqual(["echo", "keyward-verifier"]);
      const c = sidecarOf(d);
      expect(c.args?.[0]).toBe("verifier");
      const config = parseVerifierArgs(argsOf(c, "acme").slice(1), { POD_NAMESPACE: "acme" });
      expect(config.mode).toBe("proxy");
      expect(config.listen).toEqual({ host: "0.0.0.0", port: 8443 });
      expect(config.upstream?.href).toBe("http://127.0.0.1:8080/");
      expect(config.tenant).toBe("acme");
      expect(c.env?.find((e) => e.name === "POD_NAMESPACE")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace");
      if (mode === "configmap") {
        expect(config.bundle).toMatchObject({ kind: "configmap", namespace: "acme", name: "keyward-bundle" });
      } else {
        expect(config.bundle).toMatchObject({ kind: "file", path: "/etc/keyward/bundle" });
        const mount = c.volumeMounts?.find((m) => m.mountPath === "/etc/keyward/bundle");
        expect(mount?.readOnly).toBe(true);
        const volume = d.spec.template.spec.volumes?.find((v) => v.name === mount?.name);
        expect(volume).toEqual(bundleVolume());
      }
      expect(portNumber(c, "keyward")).toBe(config.listen.port);
      expect(portNumber(c, c.readinessProbe!.httpGet!.port)).toBe(config.metricsListen?.port);
      expect(portNumber(c, c.livenessProbe!.httpGet!.port)).toBe(config.metricsListen?.port);
      expect(c.readinessProbe?.httpGet?.path).toBe("/readyz");
      expect(c.livenessProbe?.httpGet?.path).toBe("/healthz");
    });

    it(`keeps the ${mode}-mode pod within the restricted Pod Security Standard`, () => {
      expect(restrictedProblems(deployment(mode).spec.template.spec)).toEqual([]);
    });

    it(`points the labelled Service at the verifier and lets ingress reach only the verifier's ports (${mode} mode)`, () => {
      const manifests = build(VERIFIER_EXAMPLES[mode]);
      const d = deployment(mode);
      const c = sidecarOf(d);
      const svc = one<Manifest & { spec: { ports: { targetPort: string | number }[] } }>(manifests, "Service", "echo");
      expect(portNumber(c, svc.spec.ports[0]!.targetPort)).toBe(8443);
      const np = one<Manifest & { spec: { podSelector: { matchLabels: Record<string, string> }; ingress: { ports: { port: number }[] }[] } }>(
        manifests,
        "NetworkPolicy",
        "keyward-verifier",
      );
      expect(d.spec.template.metadata.labels).toMatchObject(np.spec.podSelector.matchLabels);
      expect(np.spec.ingress.flatMap((i) => i.ports.map((p) => p.port)).sort()).toEqual([8443, 9090]);
    });
  }

  it("lets the pod read the bundle ConfigMap keyward-bundle of its namespace and get its revocation segments, no other object, and create and patch its report Lease", () => {
    const manifests = build(VERIFIER_EXAMPLES.configmap);
    const role = one<Role>(manifests, "Role", "keyward-verifier");
    expect(role.metadata.namespace).toBe("acme");
    expect(role.rules).toEqual([
      { apiGroups: [""], resources: ["configmaps"], resourceNames: ["keyward-bundle"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["configmaps"], resourceNames: bundleSegmentNames(), verbs: ["get"] },
      { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create", "patch"] },
    ]);
    expect(grants(role.rules, "", "configmaps", "get", "keyward-bundle")).toBe(true);
    expect(grants(role.rules, "", "configmaps", "get", "keyward-bundle-revoked-32")).toBe(true);
    expect(grants(role.rules, "", "configmaps", "watch", "keyward-bundle-revoked-1")).toBe(false);
    expect(grants(role.rules, "", "configmaps", "get", "keyward-bundle-revoked-33")).toBe(false);
    expect(grants(role.rules, "", "configmaps", "get", "other")).toBe(false);
    // The report: no reading, replacing or deleting of the namespace's Leases.
    for (const verb of ["get", "list", "watch", "update", "delete"]) expect(grants(role.rules, "coordination.k8s.io", "leases", verb), verb).toBe(false);
    const binding = one<Binding>(manifests, "RoleBinding", "keyward-verifier");
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "keyward-verifier" });
    const sa = deployment("configmap").spec.template.spec.serviceAccountName ?? "default";
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: sa, namespace: "acme" }]);
  });

  it("needs no RBAC in file mode", () => {
    const kinds = build(VERIFIER_EXAMPLES.file).map((m) => m.kind);
    expect(kinds).not.toContain("Role");
    expect(kinds).not.toContain("RoleBinding");
  });
});

describe("config/prometheus", () => {
  /** Every metric name the keyward sources define (`name: "keyward_…"`). */
  function definedMetrics(): Set<string> {
    const names = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith(".ts")) for (const m of readFileSync(path, "utf8").matchAll(/name: "(keyward_[a-z0-9_]+)"/g)) names.add(m[1]!);
      }
    };
    walk(join(REPO_ROOT, "src"));
    return names;
  }

  it("alerts only on metrics that keyward exports", () => {
    const defined = definedMetrics();
    const rule = one<Manifest & { spec: { groups: { rules: { alert: string; expr: string }[] }[] } }>(build("config/prometheus"), "PrometheusRule", "keyward");
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    expect(alerts.length).toBeGreaterThan(5);
    for (const a of alerts) {
      const used = [...a.expr.matchAll(/keyward_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ""));
      expect(used.length, a.alert).toBeGreaterThan(0);
      for (const metric of used) expect(defined.has(metric), `${a.alert}: ${metric}`).toBe(true);
    }
  });

  it("scrapes the controller's metrics Service and the verifier sidecars' admin port", () => {
    const manifests = build("config/prometheus");
    const sm = one<Manifest & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] } }>(manifests, "ServiceMonitor", "keyward-controller");
    const svc = one<Manifest & { spec: { ports: { name: string }[] } }>(build("config/default"), "Service", "keyward-controller-metrics");
    expect(svc.metadata.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(svc.spec.ports.map((p) => p.name)).toContain(sm.spec.endpoints[0]!.port);
    const pm = one<Manifest & { spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string }[] } }>(manifests, "PodMonitor", "keyward-verifier");
    const d = one<Deployment>(build(VERIFIER_EXAMPLES.configmap), "Deployment", "echo");
    expect(d.spec.template.metadata.labels).toMatchObject(pm.spec.selector.matchLabels);
    const sidecar = d.spec.template.spec.containers.find((c) => c.name === "keyward-verifier")!;
    expect(portNumber(sidecar, pm.spec.podMetricsEndpoints[0]!.port)).toBe(9090);
  });
});
