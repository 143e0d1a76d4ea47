// What the tests of the controller with its token service share: the RBAC that
// config/issuer/component adds for the controller, and a server certificate for the service.

import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { StartControllerOptions } from "../../../src/cli/controller/start.ts";
import { freePorts } from "../../../src/controlplane/ports.ts";
import { createCertificateAuthority, issueCertificate } from "../../../src/lib/pki.ts";
import { serviceAccountGroups, serviceAccountUser, untilAllowed } from "../../config/support/identity.ts";
import type { Kube } from "../harness/index.ts";

/** Binds the token service's ClusterRole of config/issuer/component to the controller's ServiceAccount of `namespace`. */
export async function grantTokenService(kube: Kube, namespace: string): Promise<void> {
  const docs = parseAllDocuments(readFileSync(new URL("../../../config/issuer/component/rbac.yaml", import.meta.url), "utf8")).map((d) => d.toJS() as { kind: string; metadata: { name: string }; rules?: unknown[] });
  const role = docs.find((d) => d.kind === "ClusterRole" && d.metadata.name === "keyward-token-service");
  const name = `keyward-token-service-${namespace}`;
  await kube.apply({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name }, rules: role?.rules });
  await kube.apply({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
    subjects: [{ kind: "ServiceAccount", name: "keyward-controller", namespace }],
  });
  await untilAllowed(
    kube,
    "the token service's RBAC to take effect",
    serviceAccountUser(namespace, "keyward-controller"),
    { verb: "create", resource: "issuedtokens", group: "keyward.dev", namespace },
    serviceAccountGroups(namespace),
  );
}

/** The token service on a free port of 127.0.0.1, with a server certificate (in `dir`) of a new CA. */
export async function tokenServiceOn(dir: string): Promise<{ tokenService: NonNullable<StartControllerOptions["tokenService"]>; caPem: string; port: number }> {
  const ca = createCertificateAuthority({ commonName: "keyward integration CA" });
  const leaf = issueCertificate(ca, { subject: { commonName: "keyward-token-service" }, hosts: ["127.0.0.1"], usage: "server" });
  await writeFile(join(dir, "tls.crt"), leaf.certPem);
  await writeFile(join(dir, "tls.key"), leaf.keyPem);
  const port = (await freePorts(1))[0] ?? 0;
  return {
    tokenService: { listen: { host: "127.0.0.1", port }, certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key"), publicUrl: `https://127.0.0.1:${String(port)}`, tlsPollIntervalMs: 0 },
    caPem: ca.certPem,
    port,
  };
}
