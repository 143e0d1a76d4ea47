const b64 = (pem: string): string => Buffer.from(pem, "utf8").toString("base64");

export interface KubeconfigSpec {
  server: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Name of the cluster, user and context. */
  name: string;
}

/** A kubeconfig (YAML) with one cluster, one client-certificate user and one current context. */
export function renderKubeconfig(spec: KubeconfigSpec): string {
  const name = JSON.stringify(spec.name);
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${name}`,
    "  cluster:",
    `    server: ${JSON.stringify(spec.server)}`,
    `    certificate-authority-data: ${b64(spec.caPem)}`,
    "users:",
    `- name: ${name}`,
    "  user:",
    `    client-certificate-data: ${b64(spec.certPem)}`,
    `    client-key-data: ${b64(spec.keyPem)}`,
    "contexts:",
    `- name: ${name}`,
    "  context:",
    `    cluster: ${name}`,
    `    user: ${name}`,
    "    namespace: default",
    `current-context: ${name}`,
    "",
  ].join("\n");
}
