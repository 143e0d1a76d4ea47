import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DEFAULT_CERT_POLICY, pemBlocks, pkiMinter, planCertificates, trusts, type CertData, type CertPolicy, type CertState } from "../../src/webhook/index.ts";

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const POLICY: CertPolicy = { ...DEFAULT_CERT_POLICY, hosts: ["keyward-webhook.keyward-system.svc", "127.0.0.1"] };

function state(data: CertData, trusted: string | null = null, trustedSince: number | null = null): CertState {
  return { data, trusted, trustedSince };
}

function issuer(data: CertData): X509Certificate {
  const leaf = new X509Certificate(data["tls.crt"]!);
  for (const pem of [data["ca.crt"], data["ca-previous.crt"]]) {
    if (pem !== undefined && leaf.verify(new X509Certificate(pem).publicKey)) return new X509Certificate(pem);
  }
  throw new Error("signed by no CA of the Secret");
}

/** A first install, at T0. */
function installed(): { data: CertData; bundle: string } {
  const plan = planCertificates(state({}), T0, POLICY, pkiMinter);
  return { data: plan.data!, bundle: plan.caBundle };
}

describe("planning the webhook's certificates", () => {
  it("makes a CA and a serving pair for the Service's names on first install, and trusts that CA alone", () => {
    const { data, bundle } = installed();
    const leaf = new X509Certificate(data["tls.crt"]!);
    expect(leaf.checkHost("keyward-webhook.keyward-system.svc")).toBe("keyward-webhook.keyward-system.svc");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(issuer(data).fingerprint256).toBe(new X509Certificate(data["ca.crt"]!).fingerprint256);
    expect(pemBlocks(bundle)).toEqual(pemBlocks(data["ca.crt"]!));
    expect(Date.parse(leaf.validTo) - T0).toBeCloseTo(30 * DAY, -4);
  });

  it("changes nothing while both certificates are far from expiry", () => {
    const { data, bundle } = installed();
    const plan = planCertificates(state(data, bundle, T0), T0 + 19 * DAY, POLICY, pkiMinter);
    expect(plan.data).toBeNull();
    expect(plan.caBundle).toBe(bundle);
  });

  it("renews the serving pair from the same CA ten days before it expires, the caBundle unchanged", () => {
    const { data, bundle } = installed();
    const plan = planCertificates(state(data, bundle, T0), T0 + 21 * DAY, POLICY, pkiMinter);
    expect(plan.changes).toEqual(["serving"]);
    expect(plan.data!["tls.crt"]).not.toBe(data["tls.crt"]);
    expect(plan.data!["ca.crt"]).toBe(data["ca.crt"]);
    expect(plan.caBundle).toBe(bundle);
  });

  it("re-issues a serving pair that does not cover the Service's names", () => {
    const { data, bundle } = installed();
    const plan = planCertificates(state(data, bundle, T0), T0, { ...POLICY, hosts: ["other.keyward-system.svc"] }, pkiMinter);
    expect(plan.changes).toEqual(["serving"]);
  });

  it("rotates the CA with overlap: the old CA stays trusted, and the serving pair moves to the new CA only once the API server has trusted it for the settle time", () => {
    // Keep the serving pair fresh up to the CA's renewal, so only the CA is due.
    const first = installed();
    const bundle = first.bundle;
    let data = first.data;
    const at = T0 + 276 * DAY;
    data = planCertificates(state(data, bundle, T0), at - 11 * DAY, POLICY, pkiMinter).data ?? data;
    const oldCa = data["ca.crt"]!;

    const rotated = planCertificates(state(data, bundle, T0), at, POLICY, pkiMinter);
    expect(rotated.changes).toEqual(["ca"]);
    const newCa = rotated.data!["ca.crt"]!;
    expect(rotated.data!["ca-previous.crt"]).toBe(oldCa);
    expect(pemBlocks(rotated.caBundle)).toEqual([...pemBlocks(newCa), ...pemBlocks(oldCa)]);
    expect(rotated.data!["tls.crt"]).toBe(data["tls.crt"]);
    data = rotated.data!;

    // The configuration does not trust the new CA yet, or not for long enough: keep serving the old pair.
    expect(planCertificates(state(data, bundle, T0), at + 60_000, POLICY, pkiMinter).data).toBeNull();
    expect(planCertificates(state(data, rotated.caBundle, at), at + POLICY.settleMs - 1, POLICY, pkiMinter).data).toBeNull();

    const moved = planCertificates(state(data, rotated.caBundle, at), at + POLICY.settleMs, POLICY, pkiMinter);
    expect(moved.changes).toEqual(["serving"]);
    expect(issuer(moved.data!).fingerprint256).toBe(new X509Certificate(newCa).fingerprint256);
    expect(moved.caBundle).toBe(rotated.caBundle);
  });

  it("drops the previous CA from the bundle once it has expired", () => {
    const { data } = installed();
    const withPrevious = { ...data, "ca-previous.crt": planCertificates(state({}), T0 - 400 * DAY, POLICY, pkiMinter).data!["ca.crt"]! };
    const plan = planCertificates(state(withPrevious, null, null), T0, POLICY, pkiMinter);
    expect(plan.changes).toEqual(["previous-dropped"]);
    expect(plan.data!["ca-previous.crt"]).toBeUndefined();
    expect(pemBlocks(plan.caBundle)).toHaveLength(1);
  });

  it("starts over from a Secret whose key does not match its certificate", () => {
    const { data } = installed();
    const other = installed().data;
    const plan = planCertificates(state({ ...data, "ca.key": other["ca.key"]!, "tls.key": other["tls.key"]! }), T0, POLICY, pkiMinter);
    expect(plan.changes).toEqual(["ca", "serving"]);
    expect(issuer(plan.data!).fingerprint256).toBe(new X509Certificate(plan.data!["ca.crt"]!).fingerprint256);
  });

  it("tells whether a bundle trusts a CA, whatever the PEM's line breaks", () => {
    const { data, bundle } = installed();
    expect(trusts(bundle.replace(/\n/g, "\r\n"), data["ca.crt"]!)).toBe(true);
    expect(trusts(installed().bundle, data["ca.crt"]!)).toBe(false);
    expect(trusts(null, data["ca.crt"]!)).toBe(false);
  });
});
