// A throwaway PKI for a local control plane: one CA, a serving certificate for
// the loopback address, client certificates, and the service-account key pair.
// Keys are ECDSA P-256; certificates are X.509 v3 built with node:crypto and the
// DER encoder in ./der.ts, so nothing outside Node.js is needed.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { isIP } from "node:net";
import {
  bitString,
  boolean,
  explicit,
  implicitPrimitive,
  namedBitString,
  objectIdentifier,
  octetString,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from "./der.ts";

const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

export interface Subject {
  commonName: string;
  organizations?: readonly string[];
}

/** A certificate and its private key, both PEM. */
export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority extends KeyPairPem {
  subject: Subject;
}

export interface IssueOptions {
  subject: Subject;
  /** DNS names and IP addresses (v4 or v6) for subjectAltName. */
  hosts?: readonly string[];
  usage: "server" | "client" | "server+client";
  now?: Date;
  validForDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
// Back-date by an hour so a slightly skewed clock does not reject a fresh certificate.
const BACKDATE_MS = 60 * 60 * 1000;

function newKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function privateKeyPem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}

function name(subject: Subject): Buffer {
  const rdns = (subject.organizations ?? []).map((o) => set(sequence(objectIdentifier(OID.organization), utf8String(o))));
  rdns.push(set(sequence(objectIdentifier(OID.commonName), utf8String(subject.commonName))));
  return sequence(...rdns);
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(objectIdentifier(oid), boolean(true), octetString(value))
    : sequence(objectIdentifier(oid), octetString(value));
}

function keyIdentifier(publicKey: KeyObject): Buffer {
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
  const spki = publicKey.export({ type: "spki", format: "der" });
  // For P-256 the SPKI is a fixed 26-byte header followed by the 65-byte point.
  return createHash("sha1").update(spki.subarray(spki.length - 65)).digest();
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  // IPv6: expand "::" and write eight 16-bit groups.
  const [head = "", tail] = ip.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = Array.from({ length: 8 - headGroups.length - tailGroups.length }, () => "0");
  const groups = tail === undefined ? headGroups : [...headGroups, ...zeros, ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return bytes;
}

function subjectAltName(hosts: readonly string[]): Buffer {
  return sequence(
    ...hosts.map((host) =>
      isIP(host) === 0 ? implicitPrimitive(2, Buffer.from(host, "ascii")) : implicitPrimitive(7, ipBytes(host)),
    ),
  );
}

function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and never zero
  return bytes;
}

interface CertificateSpec {
  subject: Subject;
  issuer: Subject;
  subjectPublicKey: KeyObject;
  issuerPublicKey: KeyObject;
  issuerPrivateKey: KeyObject;
  extensions: Buffer[];
  now: Date;
  validForDays: number;
}

function certificate(spec: CertificateSpec): string {
  const signatureAlgorithm = sequence(objectIdentifier(OID.ecdsaWithSha256));
  const notBefore = new Date(spec.now.getTime() - BACKDATE_MS);
  const notAfter = new Date(spec.now.getTime() + spec.validForDays * DAY_MS);
  const tbs = sequence(
    explicit(0, smallInteger(2)), // v3
    unsignedInteger(serialNumber()),
    signatureAlgorithm,
    name(spec.issuer),
    sequence(time(notBefore), time(notAfter)),
    name(spec.subject),
    spec.subjectPublicKey.export({ type: "spki", format: "der" }),
    explicit(
      3,
      sequence(
        ...spec.extensions,
        extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spec.subjectPublicKey))),
        extension(
          OID.authorityKeyIdentifier,
          false,
          sequence(implicitPrimitive(0, keyIdentifier(spec.issuerPublicKey))),
        ),
      ),
    ),
  );
  const signature = sign("sha256", tbs, spec.issuerPrivateKey); // DER-encoded ECDSA signature
  return pem("CERTIFICATE", sequence(tbs, signatureAlgorithm, bitString(signature)));
}

/** A self-signed CA certificate and key. */
export function createCertificateAuthority(opts: { commonName: string; now?: Date; validForDays?: number }): CertificateAuthority {
  const { privateKey, publicKey } = newKey();
  const subject = { commonName: opts.commonName };
  const certPem = certificate({
    subject,
    issuer: subject,
    subjectPublicKey: publicKey,
    issuerPublicKey: publicKey,
    issuerPrivateKey: privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true))),
      extension(OID.keyUsage, true, namedBitString([KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
    ],
    now: opts.now ?? new Date(),
    validForDays: opts.validForDays ?? 365,
  });
  return { certPem, keyPem: privateKeyPem(privateKey), subject };
}

/** A leaf certificate signed by the CA. */
export function issueCertificate(ca: CertificateAuthority, opts: IssueOptions): KeyPairPem {
  const { privateKey, publicKey } = newKey();
  const caKey = createPrivateKey(ca.keyPem);
  const ekus = opts.usage === "server" ? [OID.serverAuth] : opts.usage === "client" ? [OID.clientAuth] : [OID.serverAuth, OID.clientAuth];
  const hosts = opts.hosts ?? [];
  if (opts.usage !== "client" && hosts.length === 0) {
    throw new Error(`issueCertificate: a serving certificate for "${opts.subject.commonName}" needs at least one host`);
  }
  const extensions = [
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, namedBitString([KEY_USAGE.digitalSignature])),
    extension(OID.extKeyUsage, false, sequence(...ekus.map(objectIdentifier))),
  ];
  if (hosts.length > 0) extensions.push(extension(OID.subjectAltName, false, subjectAltName(hosts)));
  const certPem = certificate({
    subject: opts.subject,
    issuer: ca.subject,
    subjectPublicKey: publicKey,
    issuerPublicKey: createPublicKey(caKey),
    issuerPrivateKey: caKey,
    extensions,
    now: opts.now ?? new Date(),
    validForDays: opts.validForDays ?? 365,
  });
  return { certPem, keyPem: privateKeyPem(privateKey) };
}

/** A key pair (PKCS#8 / SPKI PEM) for signing service-account tokens. */
export function createServiceAccountKey(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = newKey();
  return {
    privateKeyPem: privateKeyPem(privateKey),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}
