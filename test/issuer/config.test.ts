// config/issuer rendered with a real kustomize: the controller runs the token service with flags it
// accepts, the certificate Secret mounted where the flags point, a Service in front, and RBAC
// without wildcards or Secret access.
import { beforeAll, describe, expect, it } from "vitest";
import { parseControllerArgs } from "../../src/cli/controller/options.ts";
import { grants, grantTriples, type Container, type Deployment, type Role } from "../config/support/k8s.ts";
import { KUSTOMIZE_BUILD_TIMEOUT_MS, kustomizeBinary, kustomizeBuild, one, type Manifest } from "../config/support/kustomize.ts";

let manifests: Manifest[];

beforeAll(() => {
  kustomizeBinary();
  manifests = kustomizeBuild("config/issuer");
}, KUSTOMIZE_BUILD_TIMEOUT_MS);

function controller(): { deployment: Deployment; container: Container } {
  const deployment = one<Deployment>(manifests, "Deployment", "keyward-controller");
  const container = deployment.spec.template.spec.containers.find((c) => c.name === "controller");
  if (container === undefined) throw new Error("no controller container");
  return { deployment, container };
}

describe("config/issuer", () => {
  it("starts the token service with flags the controller accepts, its certificate mounted where they point", () => {
    const { deployment, container } = controller();
    const config = parseControllerArgs(container.args!.slice(1), { POD_NAMESPACE: "keyward-system" });
    expect(config.tokenService).toEqual({
      listen: { host: "0.0.0.0", port: 8443 },
      certFile: "/etc/keyward/token-service-tls/tls.crt",
      keyFile: "/etc/keyward/token-service-tls/tls.key",
      publicUrl: null,
    });
    const c = container as Container & { volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] };
    expect(c.volumeMounts).toContainEqual({ name: "token-service-tls", mountPath: "/etc/keyward/token-service-tls", readOnly: true });
    const volumes = (deployment.spec.template.spec as { volumes?: { name: string; secret?: { secretName: string } }[] }).volumes ?? [];
    expect(volumes).toContainEqual(expect.objectContaining({ name: "token-service-tls", secret: expect.objectContaining({ secretName: "keyward-token-service-tls" }) as unknown }));
  });

  it("puts the Service keyward-token-service in front of the named port, and a Certificate for its DNS name into that Secret", () => {
    const svc = one<Manifest & { spec: { ports: { port: number; targetPort: string }[] } }>(manifests, "Service", "keyward-token-service");
    expect(svc.spec.ports).toEqual([expect.objectContaining({ port: 443, targetPort: "token-service" })]);
    const ports = (controller().container as Container & { ports?: { name: string; containerPort: number }[] }).ports ?? [];
    expect(ports).toContainEqual(expect.objectContaining({ name: "token-service", containerPort: 8443 }));
    const cert = one<Manifest & { spec: { secretName: string; dnsNames: string[] } }>(manifests, "Certificate", "keyward-token-service");
    expect(cert.spec.secretName).toBe("keyward-token-service-tls");
    expect(cert.spec.dnsNames).toContain("keyward-token-service.keyward-system.svc");
  });

  it("lets the controller create and delete IssuedTokens, with no Secret access and no wildcard, and adds no role for people of its own", () => {
    const role = one<Role>(manifests, "ClusterRole", "keyward-token-service");
    expect(grantTriples(role.rules)).toEqual([
      "keyward.dev/issuedtokens/status:patch",
      "keyward.dev/issuedtokens/status:update",
      "keyward.dev/issuedtokens:create",
      "keyward.dev/issuedtokens:delete",
      "keyward.dev/issuedtokens:get",
      "keyward.dev/issuedtokens:list",
      "keyward.dev/issuedtokens:watch",
    ]);
    expect(grants(role.rules, "", "secrets", "get")).toBe(false);
    expect(role.rules.every((r) => !r.verbs.includes("*") && !(r.resources ?? []).includes("*"))).toBe(true);
    // People's rights on IssuedTokens are config/rbac's (keyward-viewer, -editor, -admin); no role
    // of any kustomization aggregates into "edit" (test/config/render.test.ts).
    expect(manifests.some((m) => m.metadata.name.startsWith("keyward-issuedtoken-"))).toBe(false);
  });
});
