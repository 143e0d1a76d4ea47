// A bundle-signing key of the bench's own, for verifiers the bench feeds bundles without a
// controller: bundles signed with it (bundle.jws) and a trust file (jwks.json) they accept.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleSignerOf, generateSigningKey, publicJwkOf, signBundle, type BundleSigner } from "../../src/token/index.ts";

export interface BenchSigner {
  /** The detached signature of `bundleJson`, signed now. */
  sign(bundleJson: string): string;
  /** A trust file holding the key's public half: pass it as --bundle-trust-file. */
  trustFile: string;
}

/** A fresh Ed25519 bundle-signing key, its trust file written in `dir`. */
export async function benchSigner(dir: string): Promise<BenchSigner> {
  const jwk = await generateSigningKey("EdDSA");
  const signer: BundleSigner = bundleSignerOf(jwk);
  const trustFile = join(dir, "trust.json");
  writeFileSync(trustFile, JSON.stringify({ keys: [publicJwkOf(jwk)] }));
  return { sign: (bundleJson) => signBundle(bundleJson, signer, Date.now()), trustFile };
}

/** Writes bundle.json and its signature bundle.jws into `dir`. */
export function writeSignedBundle(dir: string, bundleJson: string, signer: BenchSigner): void {
  writeFileSync(join(dir, "bundle.jws"), signer.sign(bundleJson));
  writeFileSync(join(dir, "bundle.json"), bundleJson);
}
