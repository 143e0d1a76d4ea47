// The signer: the one place private signing keys are used. Everything that
// issues tokens (the AccessToken controller, the token service) asks it for a
// signature over a signing input and never holds a private key; the ApiKey
// controller asks it for new keys and tells it when a key is gone.
// docs/signer.md describes the contract and how an external signer (a KMS, an
// HSM, Vault's transit engine) plugs in.
//
// One implementation: secretSigner, the keys in the ApiKey's Secret in keyward's
// system namespace, read from the caller's cache.

import { generateSigningKey, KeywardError, signWithJwk, type Algorithm, type PrivateJwk, type TokenSigner } from "../../token/index.ts";
import { currentKeySecret, type ApiKeyRef, type SecretLookup } from "./location.ts";
import { readSigningKeySecret, type SecretObject, type SigningKeySecretRead } from "./secret.ts";

/** One key of one ApiKey. */
export interface KeyRef extends ApiKeyRef {
  kid: string;
  alg: Algorithm;
}

/**
 * Guarantees every implementation gives:
 * - private key material never leaves it: `sign` returns a signature, nothing else;
 * - `sign` signs only with a key it holds for that very ApiKey (namespace, name and uid)
 *   and kid, and rejects with a SignerError otherwise;
 * - `delete` is idempotent: deleting a key that is gone resolves.
 */
export interface Signer {
  /**
   * A new key of `algorithm`: the record of it the ApiKey's key document keeps.
   * Its kid is the RFC 7638 thumbprint of its public key.
   */
  generate(algorithm: Algorithm): Promise<PrivateJwk>;
  /** The JWS signature (ES256 as raw r||s) of `signingInput` with the key. */
  sign(key: KeyRef, signingInput: Uint8Array): Promise<Uint8Array>;
  /** Forgets the key, once no document lists it any more. */
  delete(key: KeyRef): Promise<void>;
}

/** The signer cannot sign with the key asked for: it does not hold it (yet, or any more), or the key is unusable. */
export class SignerError extends KeywardError {
  readonly code = "ERR_SIGNING_KEY_UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "SignerError";
  }
}

/** The key as the token format signs with it: kid, algorithm, and the signer's `sign`. */
export function tokenSignerFor(signer: Signer, key: KeyRef): TokenSigner {
  return { kid: key.kid, alg: key.alg, sign: (input) => signer.sign(key, input) };
}

export interface SecretSignerOptions {
  /** The Secrets cache: the system namespace's signing-key Secrets, and the tenants' legacy ones. */
  secrets: SecretLookup<SecretObject>;
  systemNamespace: string;
  /** Reads a Secret's document; default readSigningKeySecret (the controller passes its memo). */
  read?: (secret: SecretObject | null, apiKey: ApiKeyRef) => SigningKeySecretRead;
}

/**
 * The in-cluster signer: each ApiKey's keys are in its Secret in the system
 * namespace (or, until the controller has moved them, its legacy Secret), read
 * from the cache. Generating makes the private JWK the controller writes there;
 * a key is forgotten with the Secret's document, so `delete` has nothing left to do.
 */
export function secretSigner(opts: SecretSignerOptions): Signer {
  const read = opts.read ?? readSigningKeySecret;
  return {
    generate: (algorithm) => generateSigningKey(algorithm),
    sign: (key, signingInput) => {
      const who = `ApiKey ${key.namespace}/${key.name}`;
      const doc = read(currentKeySecret(opts.secrets, opts.systemNamespace, key), key);
      if (doc.kind !== "ok") {
        return Promise.reject(new SignerError(`${who}: its signing keys cannot be read (${doc.kind === "missing" ? "its Secret does not exist" : doc.message})`));
      }
      const stored = doc.document.keys.find((k) => k.jwk.kid === key.kid && k.jwk.alg === key.alg);
      if (stored === undefined) return Promise.reject(new SignerError(`${who} has no ${key.alg} key ${key.kid} any more`));
      try {
        return Promise.resolve(signWithJwk(stored.jwk, signingInput));
      } catch (err) {
        return Promise.reject(new SignerError(`${who}: key ${key.kid} cannot sign (${err instanceof Error ? err.message : String(err)})`));
      }
    },
    delete: () => Promise.resolve(),
  };
}
