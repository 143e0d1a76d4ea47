// Certificates for the webhook, from the X.509 builder of src/lib/pki.ts (ECDSA P-256,
// node:crypto only).

import { createCertificateAuthority, issueCertificate } from "../lib/pki.ts";
import type { Minter } from "./certs.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_NAME = "keyward-webhook-ca";

export const pkiMinter: Minter = {
  ca: (now, validityMs) => createCertificateAuthority({ commonName: CA_NAME, now: new Date(now), validForDays: validityMs / DAY_MS }),
  serving: (ca, hosts, now, validityMs) =>
    issueCertificate(
      { ...ca, subject: { commonName: CA_NAME } },
      { subject: { commonName: hosts[0] ?? "keyward-webhook" }, hosts, usage: "server", now: new Date(now), validForDays: validityMs / DAY_MS },
    ),
};
