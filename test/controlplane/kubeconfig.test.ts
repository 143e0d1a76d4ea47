import { KubeConfig } from "@kubernetes/client-node";
import type { RequestOptions } from "node:https";
import { describe, expect, it } from "vitest";
import { renderKubeconfig } from "../../src/controlplane/kubeconfig.ts";
import { createCertificateAuthority, issueCertificate } from "../../src/lib/pki.ts";

describe("the admin kubeconfig", () => {
  it("is read by @kubernetes/client-node as one cluster, one certificate user and the current context", async () => {
    const ca = createCertificateAuthority({ commonName: "ca" });
    const admin = issueCertificate(ca, { subject: { commonName: "keyward-admin", organizations: ["system:masters"] }, usage: "client" });
    const kc = new KubeConfig();
    kc.loadFromString(renderKubeconfig({ server: "https://127.0.0.1:6443", caPem: ca.certPem, certPem: admin.certPem, keyPem: admin.keyPem, name: "keyward-admin" }));
    expect(kc.getCurrentContext()).toBe("keyward-admin");
    expect(kc.getCurrentCluster()?.server).toBe("https://127.0.0.1:6443");
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const pem = (value: unknown): string => (Buffer.isBuffer(value) ? value.toString("utf8") : String(value));
    expect(pem(opts.ca)).toBe(ca.certPem);
    expect(pem(opts.cert)).toBe(admin.certPem);
    expect(pem(opts.key)).toBe(admin.keyPem);
  });
});
