// Moving an ApiKey's keys from its legacy Secret in the tenant namespace
// (`<apikey>-signing-keys`) to its Secret in the system namespace, without a
// rotation and without a moment in which no Secret holds them:
//
//   legacy only               → copy: the system Secret is created with the very same document
//                               (keys, kids, times, request values acted on)
//   system (readable) + legacy → deleteLegacy: the copy is in place, the legacy Secret goes
//   anything else             → none (a legacy Secret that cannot be read stays, and is reported)
//
// Each step is decided from what exists, so a controller that stops between
// the two writes finds the second to do on its next reconcile. The caller
// deletes the legacy Secret only once its cache shows the copy.

import { holdsKeysOf, type ApiKeyRef } from "./location.ts";
import { readSigningKeySecret, signingKeySecretOfData, type SecretObject } from "./secret.ts";
import { SIGNING_KEY_DATA_KEY } from "../names.ts";

export type KeyMigrationStep =
  | { step: "none" }
  /** Create this Secret in the system namespace: the legacy document, byte for byte. */
  | { step: "copy"; secret: SecretObject }
  /** The system Secret holds the keys: delete the legacy Secret (at its uid). */
  | { step: "deleteLegacy"; legacy: SecretObject };

export interface KeyMigrationInput {
  systemNamespace: string;
  apiKey: ApiKeyRef;
  /** The ApiKey's Secret in the system namespace, or null. */
  system: SecretObject | null;
  /** The Secret `<apikey>-signing-keys` in the tenant namespace, or null. */
  legacy: SecretObject | null;
}

export function planKeyMigration(input: KeyMigrationInput): KeyMigrationStep {
  const { legacy, system, apiKey } = input;
  if (legacy === null || !holdsKeysOf(legacy, apiKey)) return { step: "none" };
  if (system !== null) return readSigningKeySecret(system, apiKey).kind === "ok" ? { step: "deleteLegacy", legacy } : { step: "none" };
  const encoded = legacy.data?.[SIGNING_KEY_DATA_KEY];
  if (encoded === undefined || readSigningKeySecret(legacy, apiKey).kind !== "ok") return { step: "none" };
  return { step: "copy", secret: signingKeySecretOfData(input.systemNamespace, apiKey, encoded) };
}
