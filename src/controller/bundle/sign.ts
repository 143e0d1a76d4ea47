// planSignature: the bundle.jws a tenant's ConfigMap should carry. The signature
// in place is kept while it is the controller's own over exactly this bundle.json,
// by the key signing now, and younger than `resignAfterMs`; otherwise the bundle is
// signed again now. Pure (Ed25519 signatures are deterministic).

import { readSignatureHeader, signBundle, verifyBundleSignature, BundleError, type BundleSigner, type TrustSet } from "../../token/index.ts";

export interface PlanSignatureInput {
  /** The bundle.json the controller decided (its record). */
  bundleJson: string;
  /** bundle.json and bundle.jws in the tenant ConfigMap now (undefined when absent). */
  currentBundle: string | undefined;
  currentSignature: string | undefined;
  signer: BundleSigner;
  /** The controller's own published keys. */
  trust: TrustSet;
  now: Date;
  /** A signature older than this is renewed: less than half the verifiers' --max-signature-age. */
  resignAfterMs: number;
}

export interface SignaturePlan {
  jws: string;
  /** Whether the signature in place is kept (nothing to write for it). */
  kept: boolean;
  /** When this signature must be renewed. */
  resignAt: Date;
}

export function planSignature(input: PlanSignatureInput): SignaturePlan {
  const current = input.currentSignature;
  if (current !== undefined && input.currentBundle === input.bundleJson && readSignatureHeader(current)?.kid === input.signer.kid) {
    try {
      const { signedAtMs } = verifyBundleSignature(input.bundleJson, current, input.trust);
      const resignAt = signedAtMs + input.resignAfterMs;
      if (resignAt > input.now.getTime() && signedAtMs <= input.now.getTime()) return { jws: current, kept: true, resignAt: new Date(resignAt) };
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
    }
  }
  const at = Math.floor(input.now.getTime() / 1000) * 1000;
  return { jws: signBundle(input.bundleJson, input.signer, at), kept: false, resignAt: new Date(at + input.resignAfterMs) };
}
