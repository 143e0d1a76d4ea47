import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCertificateAuthority } from "../../src/lib/pki.ts";
import { servedFingerprint, World } from "./support/fixture.ts";

describe("the serving certificate", () => {
  it("is swapped once the files change, and the old one kept when the new pair is broken", async () => {
    const w = await World.start();
    try {
      const port = w.service.address.port;
      const before = await servedFingerprint(port, w.ca.certPem);
      expect(await w.service.reloadTls()).toBe(false);

      const next = createCertificateAuthority({ commonName: "keyward test CA 2" });
      await w.writeCertificate(next);
      expect(await w.service.reloadTls()).toBe(true);
      const after = await servedFingerprint(port, next.certPem);
      expect(after).not.toBe(before);
      await expect(servedFingerprint(port, w.ca.certPem)).rejects.toThrow();

      await writeFile(join(w.dir, "tls.key"), "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n");
      expect(await w.service.reloadTls()).toBe(false);
      expect(await servedFingerprint(port, next.certPem)).toBe(after);
      expect(w.logs.entries()).toContainEqual(expect.objectContaining({ msg: "serving certificate not reloaded; the previous one stays in use" }));
    } finally {
      await w.stop();
    }
  });

  it("is picked up by polling the files, without a restart", async () => {
    const w = await World.start({});
    const polled = await World.start({ tls: { certFile: join(w.dir, "tls.crt"), keyFile: join(w.dir, "tls.key"), pollIntervalMs: 50 } });
    try {
      const port = polled.service.address.port;
      const next = createCertificateAuthority({ commonName: "keyward test CA 3" });
      await w.writeCertificate(next);
      const deadline = Date.now() + 10_000;
      let trusted = false;
      while (!trusted && Date.now() < deadline) {
        trusted = await servedFingerprint(port, next.certPem).then(() => true, () => false);
        if (!trusted) await new Promise((r) => setTimeout(r, 50));
      }
      expect(trusted).toBe(true);
    } finally {
      await polled.stop();
      await w.stop();
    }
  });
});
