// What the webhook's certificates should be, decided from what exists: a pure plan over the
// Secret's contents, the caBundle the API server currently trusts and the time.
//
//   CA        self-signed, renewed `caRenewBeforeMs` before it expires. The CA it replaces stays
//             in the caBundle ("previous") until it expires, so certificates it signed keep
//             working while replicas and the API server catch up.
//   serving   signed by the current CA for the Service's DNS names, renewed
//             `servingRenewBeforeMs` before it expires. After a CA rotation, the serving pair is
//             re-issued by the new CA only once the webhook configuration's caBundle has held the
//             new CA for `settleMs` (the API server caches configurations): until then the old
//             pair, still valid and still trusted through the previous CA, keeps serving.
//
// Minting is injected (keys are random), so the plan is deterministic in tests.

import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";

/** The Secret's data, decoded. Keys of the Secret: ca.crt, ca.key, ca-previous.crt, tls.crt, tls.key. */
export interface CertData {
  "ca.crt"?: string;
  "ca.key"?: string;
  "ca-previous.crt"?: string;
  "tls.crt"?: string;
  "tls.key"?: string;
}

export interface CertPolicy {
  caValidityMs: number;
  caRenewBeforeMs: number;
  servingValidityMs: number;
  servingRenewBeforeMs: number;
  settleMs: number;
  /** DNS names (and IP addresses) the serving certificate covers. */
  hosts: readonly string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_CERT_POLICY: Omit<CertPolicy, "hosts"> = {
  caValidityMs: 365 * DAY_MS,
  caRenewBeforeMs: 90 * DAY_MS,
  servingValidityMs: 30 * DAY_MS,
  servingRenewBeforeMs: 10 * DAY_MS,
  settleMs: 10_000,
};

export interface Minter {
  ca(now: number, validityMs: number): { certPem: string; keyPem: string };
  serving(ca: { certPem: string; keyPem: string }, hosts: readonly string[], now: number, validityMs: number): { certPem: string; keyPem: string };
}

export interface CertState {
  data: CertData;
  /** The caBundle (PEM) of the webhook configuration; null when there is none. */
  trusted: string | null;
  /** Since when the configuration has trusted the current CA, as this replica saw it; null: not seen. */
  trustedSince: number | null;
}

export interface CertPlan {
  /** The Secret's new data; null: keep it as it is. */
  data: CertData | null;
  /** The caBundle the webhook configuration should carry (PEM). */
  caBundle: string;
  /** What changed, for the log (never key material). */
  changes: ("ca" | "serving" | "previous-dropped")[];
}

interface Parsed {
  pem: string;
  cert: X509Certificate;
  notAfter: number;
}

function parse(pem: string | undefined): Parsed | null {
  if (pem === undefined || pem === "") return null;
  try {
    const cert = new X509Certificate(pem);
    return { pem, cert, notAfter: Date.parse(cert.validTo) };
  } catch {
    return null;
  }
}

function keyMatches(p: Parsed, keyPem: string | undefined): boolean {
  if (keyPem === undefined) return false;
  try {
    return p.cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

function issuedBy(leaf: Parsed, ca: Parsed): boolean {
  return leaf.cert.checkIssued(ca.cert) && leaf.cert.verify(ca.cert.publicKey);
}

function covers(leaf: Parsed, hosts: readonly string[]): boolean {
  return hosts.every((h) => (isIP(h) === 0 ? leaf.cert.checkHost(h, { wildcards: false }) === h : leaf.cert.checkIP(h) === h));
}

/** The PEM blocks of a bundle, each normalised, to compare bundles. */
export function pemBlocks(bundle: string): string[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((b) => b.replace(/\s+/g, ""));
}

export function trusts(bundle: string | null, caPem: string): boolean {
  if (bundle === null) return false;
  const want = pemBlocks(caPem)[0];
  return want !== undefined && pemBlocks(bundle).includes(want);
}

export function planCertificates(state: CertState, now: number, policy: CertPolicy, mint: Minter): CertPlan {
  const d = state.data;
  const changes: CertPlan["changes"] = [];
  let ca = parse(d["ca.crt"]);
  let caKey = d["ca.key"];
  let previous = parse(d["ca-previous.crt"]);
  if (previous !== null && previous.notAfter <= now) {
    previous = null;
    changes.push("previous-dropped");
  }
  if (ca === null || !keyMatches(ca, caKey) || ca.notAfter - now <= policy.caRenewBeforeMs) {
    // The outgoing CA is still trusted until it expires.
    if (ca !== null && ca.notAfter > now && keyMatches(ca, caKey)) previous = ca;
    const fresh = mint.ca(now, policy.caValidityMs);
    ca = parse(fresh.certPem)!;
    caKey = fresh.keyPem;
    changes.push("ca");
  }
  const caBundle = [ca.pem, ...(previous === null ? [] : [previous.pem])].map((p) => p.trim()).join("\n") + "\n";

  let cert = d["tls.crt"];
  let key = d["tls.key"];
  const leaf = parse(cert);
  const sound = leaf !== null && keyMatches(leaf, key) && covers(leaf, policy.hosts);
  const fresh = sound && issuedBy(leaf, ca) && leaf.notAfter - now > policy.servingRenewBeforeMs;
  if (!fresh) {
    // Still serving and trusted through the previous CA: wait until the API server trusts the new one.
    const usable = sound && previous !== null && issuedBy(leaf, previous) && leaf.notAfter - now > policy.settleMs;
    const settled = trusts(state.trusted, ca.pem) && state.trustedSince !== null && now - state.trustedSince >= policy.settleMs;
    if (!usable || settled) {
      const pair = mint.serving({ certPem: ca.pem, keyPem: caKey! }, policy.hosts, now, policy.servingValidityMs);
      cert = pair.certPem;
      key = pair.keyPem;
      changes.push("serving");
    }
  }
  if (changes.length === 0) return { data: null, caBundle, changes };
  const data: CertData = { "ca.crt": ca.pem, "ca.key": caKey!, "tls.crt": cert!, "tls.key": key! };
  if (previous !== null) data["ca-previous.crt"] = previous.pem;
  return { data, caBundle, changes };
}
