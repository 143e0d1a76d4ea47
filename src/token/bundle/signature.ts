// Bundle signature v1 (docs/token-format.md): a JWS with a detached payload
// (RFC 7515 Appendix F) over the exact bytes of bundle.json, signed with the
// controller's Ed25519 bundle-signing key. The protected header carries the
// signing time, so bundle.json stays bundle v1 byte for byte and a re-signature
// changes neither its content nor its generation.
//
//   bundle.jws = base64url(header) ".." base64url(signature)
//   header     = {"alg":"EdDSA","typ":"keyward-bundle+jws","kid":<thumbprint>,"signedAt":<RFC 3339>}
//   signature  = Ed25519(base64url(header) "." base64url(bundle.json bytes))

import type { KeyObject } from "node:crypto";
import { BundleError } from "../errors.ts";
import { decodeBase64url, encodeBase64url } from "../lib/base64url.ts";
import { importSigningKey, importVerifyingKey, signData, verifySignature, type VerifyingKey } from "../lib/crypto.ts";
import { describe, isRecord } from "../lib/describe.ts";
import { formatRfc3339, parseRfc3339 } from "../lib/rfc3339.ts";
import { jwkThumbprint } from "../keys/thumbprint.ts";
import type { PrivateJwk, PublicJwk } from "../types.ts";

/** The `typ` of a bundle signature v1. */
export const BUNDLE_SIGNATURE_TYPE = "keyward-bundle+jws";
const HEADER_FIELDS = ["alg", "typ", "kid", "signedAt"];
/** A signature is a few hundred characters; anything much longer is not one. */
const MAX_SIGNATURE_CHARS = 4096;

/** What a valid signature says: who signed, and when. */
export interface BundleSignature {
  kid: string;
  /** Milliseconds since the epoch. */
  signedAtMs: number;
}

/** A trusted bundle-signing public key, ready to verify. */
export interface TrustedKey {
  kid: string;
  jwk: PublicJwk;
  key: VerifyingKey;
}

/** The keys a verifier trusts, by kid. */
export type TrustSet = ReadonlyMap<string, TrustedKey>;

/** A bundle-signing key ready to sign: its kid and the imported private key. */
export interface BundleSigner {
  kid: string;
  key: KeyObject;
}

function fail(code: "ERR_BUNDLE_UNSIGNED" | "ERR_BUNDLE_SIGNATURE" | "ERR_BUNDLE_SIGNATURE_KEY" | "ERR_BUNDLE_TRUST", field: string, message: string): never {
  throw new BundleError(code, field, message);
}

/** Imports an Ed25519 private JWK for signing bundles. Throws BundleError (ERR_BUNDLE_TRUST) when it is not one. */
export function bundleSignerOf(jwk: PrivateJwk): BundleSigner {
  if (jwk.kty !== "OKP" || jwk.alg !== "EdDSA") fail("ERR_BUNDLE_TRUST", "kty", "a bundle-signing key must be an Ed25519 (OKP, EdDSA) key");
  try {
    return { kid: jwkThumbprint(jwk), key: importSigningKey(jwk, "EdDSA") };
  } catch (err) {
    fail("ERR_BUNDLE_TRUST", "d", `the bundle-signing key ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The detached JWS of `bundleJson` (the exact text written as bundle.json), signed at `signedAtMs`. */
export function signBundle(bundleJson: string, signer: BundleSigner, signedAtMs: number): string {
  const header = encodeBase64url(JSON.stringify({ alg: "EdDSA", typ: BUNDLE_SIGNATURE_TYPE, kid: signer.kid, signedAt: formatRfc3339(signedAtMs) }));
  const input = Buffer.from(`${header}.${encodeBase64url(bundleJson)}`, "ascii");
  return `${header}..${encodeBase64url(signData("EdDSA", signer.key, input))}`;
}

/**
 * The header of a bundle signature, unverified: for the controller to see which key
 * signed a bundle and when. Null when it is not a bundle signature v1.
 */
export function readSignatureHeader(jws: string): BundleSignature | null {
  try {
    return parseHeader(jws).signature;
  } catch {
    return null;
  }
}

function parseHeader(jws: string): { header: string; signatureBytes: Buffer; signature: BundleSignature } {
  if (typeof jws !== "string" || jws.trim() === "") fail("ERR_BUNDLE_UNSIGNED", "bundle.jws", "is missing: the bundle carries no signature");
  if (jws.length > MAX_SIGNATURE_CHARS) fail("ERR_BUNDLE_SIGNATURE", "bundle.jws", `is ${jws.length} characters, longer than any bundle signature`);
  const parts = jws.trim().split(".");
  if (parts.length !== 3 || parts[1] !== "") fail("ERR_BUNDLE_SIGNATURE", "bundle.jws", "must be a JWS with a detached payload: HEADER..SIGNATURE");
  const [header, , sig] = parts as [string, string, string];
  const headerBytes = decodeBase64url(header);
  const signatureBytes = decodeBase64url(sig);
  if (headerBytes === null || signatureBytes === null) fail("ERR_BUNDLE_SIGNATURE", "bundle.jws", "must be canonical unpadded base64url");
  let value: unknown;
  try {
    value = JSON.parse(headerBytes.toString("utf8"));
  } catch {
    fail("ERR_BUNDLE_SIGNATURE", "bundle.jws", "the protected header is not JSON");
  }
  if (!isRecord(value)) fail("ERR_BUNDLE_SIGNATURE", "bundle.jws", `the protected header must be an object, not ${describe(value)}`);
  for (const name of Object.keys(value)) {
    if (!HEADER_FIELDS.includes(name)) fail("ERR_BUNDLE_SIGNATURE", `bundle.jws.${name}`, `is not a header parameter of bundle signature v1 (allowed: ${HEADER_FIELDS.join(", ")})`);
  }
  if (value.alg !== "EdDSA") fail("ERR_BUNDLE_SIGNATURE", "bundle.jws.alg", `must be "EdDSA", not ${describe(value.alg)}`);
  if (value.typ !== BUNDLE_SIGNATURE_TYPE) fail("ERR_BUNDLE_SIGNATURE", "bundle.jws.typ", `must be "${BUNDLE_SIGNATURE_TYPE}", not ${describe(value.typ)}`);
  if (typeof value.kid !== "string" || value.kid === "") fail("ERR_BUNDLE_SIGNATURE", "bundle.jws.kid", `must be a non-empty string, not ${describe(value.kid)}`);
  const signedAtMs = typeof value.signedAt === "string" ? parseRfc3339(value.signedAt) : null;
  if (signedAtMs === null) fail("ERR_BUNDLE_SIGNATURE", "bundle.jws.signedAt", `must be an RFC 3339 date-time, not ${describe(value.signedAt)}`);
  return { header, signatureBytes, signature: { kid: value.kid, signedAtMs } };
}

/**
 * Checks `jws` over the exact bytes of `bundleJson` with a key of `trust`, and
 * returns who signed it and when. Throws BundleError: ERR_BUNDLE_UNSIGNED (no
 * signature), ERR_BUNDLE_SIGNATURE (malformed, or the signature does not match the
 * bytes), ERR_BUNDLE_SIGNATURE_KEY (the kid is not trusted). Nothing of the
 * bundle is read before the signature holds.
 */
export function verifyBundleSignature(bundleJson: string, jws: string | undefined, trust: TrustSet): BundleSignature {
  const { header, signatureBytes, signature } = parseHeader(jws ?? "");
  const trusted = trust.get(signature.kid);
  if (trusted === undefined) {
    fail("ERR_BUNDLE_SIGNATURE_KEY", "bundle.jws.kid", `"${signature.kid}" is not one of the trusted bundle-signing keys (${[...trust.keys()].join(", ") || "none loaded"})`);
  }
  const input = Buffer.from(`${header}.${encodeBase64url(bundleJson)}`, "ascii");
  if (!verifySignature(trusted.key, input, signatureBytes)) {
    fail("ERR_BUNDLE_SIGNATURE", "bundle.jws", `does not verify over bundle.json with key "${signature.kid}": the bundle was changed after the keyward controller signed it`);
  }
  return signature;
}

/**
 * The trust set in a JWK Set of Ed25519 public keys (the trust ConfigMap's
 * jwks.json). Members other than the JWK's are ignored (the controller adds
 * `publishedAt`). Throws BundleError (ERR_BUNDLE_TRUST) naming the first problem.
 */
export function parseTrustSet(text: string): Map<string, TrustedKey> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail("ERR_BUNDLE_TRUST", "jwks.json", "is not JSON");
  }
  if (!isRecord(value) || !Array.isArray(value.keys)) fail("ERR_BUNDLE_TRUST", "jwks.json", "must be a JWK Set: {\"keys\": [...]}");
  const out = new Map<string, TrustedKey>();
  value.keys.forEach((raw: unknown, i: number) => {
    const field = `jwks.json.keys[${i}]`;
    if (!isRecord(raw) || raw.kty !== "OKP" || raw.crv !== "Ed25519" || raw.alg !== "EdDSA" || typeof raw.x !== "string" || typeof raw.kid !== "string") {
      fail("ERR_BUNDLE_TRUST", field, "must be an Ed25519 public JWK with kty OKP, crv Ed25519, alg EdDSA, x and kid");
    }
    if ("d" in raw) fail("ERR_BUNDLE_TRUST", `${field}.d`, "is a private key member: the trust set holds public keys only");
    const jwk: PublicJwk = { kty: "OKP", crv: "Ed25519", x: raw.x, kid: raw.kid, alg: "EdDSA", use: "sig" };
    if (jwkThumbprint(jwk) !== raw.kid) fail("ERR_BUNDLE_TRUST", `${field}.kid`, "must be the RFC 7638 thumbprint of the key");
    let key: VerifyingKey;
    try {
      key = importVerifyingKey(jwk, "EdDSA");
    } catch (err) {
      fail("ERR_BUNDLE_TRUST", `${field}.x`, err instanceof Error ? err.message : String(err));
    }
    out.set(raw.kid, { kid: raw.kid, jwk, key });
  });
  return out;
}
