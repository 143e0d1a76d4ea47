import { createPrivateKey, createPublicKey, sign, verify, X509Certificate } from "node:crypto";
import { createServer, request } from "node:https";
import type { Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { createCertificateAuthority, createServiceAccountKey, issueCertificate } from "../../src/lib/pki.ts";
import type { CertificateAuthority } from "../../src/lib/pki.ts";

const now = new Date("2026-11-29T12:00:00Z");

describe("the throwaway PKI", () => {
  const ca = createCertificateAuthority({ commonName: "test-ca", now });
  const serving = issueCertificate(ca, { subject: { commonName: "kube-apiserver" }, hosts: ["127.0.0.1", "localhost", "::1"], usage: "server", now });
  const admin = issueCertificate(ca, { subject: { commonName: "keyward-admin", organizations: ["system:masters"] }, usage: "client", now });

  it("issues a self-signed CA certificate valid from an hour before now for a year", () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe("CN=test-ca");
    expect(cert.issuer).toBe("CN=test-ca");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(new Date(cert.validFrom).toISOString()).toBe("2026-11-29T11:00:00.000Z");
    expect(new Date(cert.validTo).toISOString()).toBe("2027-11-29T12:00:00.000Z");
  });

  it("issues a serving certificate for exactly the loopback names asked for, signed by the CA", () => {
    const cert = new X509Certificate(serving.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkIP("::1")).toBe("::1");
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.checkIP("10.0.0.1")).toBeUndefined();
    expect(cert.checkHost("example.com")).toBeUndefined();
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
  });

  it("puts the user in CN and the groups in O of a client certificate", () => {
    const cert = new X509Certificate(admin.certPem);
    expect(cert.subject.split("\n")).toEqual(["O=system:masters", "CN=keyward-admin"]);
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(cert.subjectAltName).toBeUndefined();
  });

  it("refuses to issue a serving certificate without a host", () => {
    expect(() => issueCertificate(ca, { subject: { commonName: "nowhere" }, usage: "server" })).toThrow(/needs at least one host/);
  });

  it("gives a fresh random serial number to every certificate", () => {
    const again = issueCertificate(ca, { subject: { commonName: "keyward-admin" }, usage: "client", now });
    expect(new X509Certificate(again.certPem).serialNumber).not.toBe(new X509Certificate(admin.certPem).serialNumber);
  });

  it("makes a service-account key pair whose halves sign and verify", () => {
    const sa = createServiceAccountKey();
    const signature = sign("sha256", Buffer.from("payload"), createPrivateKey(sa.privateKeyPem));
    expect(verify("sha256", Buffer.from("payload"), createPublicKey(sa.publicKeyPem), signature)).toBe(true);
    expect(sa.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(sa.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  describe("in a mutual TLS handshake", () => {
    let server: Server | undefined;
    afterEach(async () => {
      await new Promise((resolve) => server?.close(resolve));
    });

    async function serve(): Promise<{ port: number; ca: CertificateAuthority }> {
      const current = new Date();
      const liveCa = createCertificateAuthority({ commonName: "live-ca", now: current });
      const liveServing = issueCertificate(liveCa, { subject: { commonName: "server" }, hosts: ["127.0.0.1", "localhost"], usage: "server", now: current });
      server = createServer(
        { cert: liveServing.certPem, key: liveServing.keyPem, ca: liveCa.certPem, requestCert: true, rejectUnauthorized: true },
        (req, res) => {
          const peer = (req.socket as unknown as TLSSocket).getPeerCertificate();
          res.end(`${String(peer.subject.CN)}/${String(peer.subject.O)}`);
        },
      );
      await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("no address");
      return { port: address.port, ca: liveCa };
    }

    function get(port: number, tls: { ca: string; cert?: string; key?: string; servername?: string }, host = "127.0.0.1"): Promise<string> {
      return new Promise((resolve, reject) => {
        const req = request({ host, port, path: "/", ...tls }, (res) => {
          let body = "";
          res
            .setEncoding("utf8")
            .on("data", (c: string) => {
              body += c;
            })
            .on("end", () => {
              resolve(body);
            });
        });
        req.on("error", reject);
        req.end();
      });
    }

    it("authenticates both sides with the CA's certificates", async () => {
      const { port, ca: liveCa } = await serve();
      const client = issueCertificate(liveCa, { subject: { commonName: "keyward-admin", organizations: ["system:masters"] }, usage: "client" });
      await expect(get(port, { ca: liveCa.certPem, cert: client.certPem, key: client.keyPem })).resolves.toBe("keyward-admin/system:masters");
      await expect(get(port, { ca: liveCa.certPem, cert: client.certPem, key: client.keyPem }, "localhost")).resolves.toBe("keyward-admin/system:masters");
    });

    it("refuses a client certificate of another CA", async () => {
      const { port, ca: liveCa } = await serve();
      const other = createCertificateAuthority({ commonName: "other-ca" });
      const stranger = issueCertificate(other, { subject: { commonName: "stranger" }, usage: "client" });
      await expect(get(port, { ca: liveCa.certPem, cert: stranger.certPem, key: stranger.keyPem })).rejects.toThrow();
    });

    it("lets the client refuse a server whose certificate comes from another CA", async () => {
      const { port } = await serve();
      const other = createCertificateAuthority({ commonName: "other-ca" });
      await expect(get(port, { ca: other.certPem })).rejects.toThrow(/self-signed|unable to verify|certificate/i);
    });
  });
});
