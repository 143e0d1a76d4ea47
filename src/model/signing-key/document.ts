// The content of an ApiKey's signing-key Secret (type keyward.dev/signing-key):
// one data key, `keys.json`, holding a JSON document with the private keys and the
// rotation bookkeeping. The bookkeeping (last rotation, request values acted on,
// revocation cut-off) is written together with the keys in one Secret update, so a
// controller that stops between writing the Secret and writing the ApiKey's status
// neither repeats nor misses a rotation: the Secret is the source of truth and the
// status mirrors it. docs/conditions.md describes the layout.

import { ALGORITHMS, KEY_STATES, KeywardError, jwkThumbprint, type Algorithm, type KeyState, type PrivateJwk } from "../../token/index.ts";
import { parseTime } from "../policy/time.ts";
import { REQUEST_FIELDS, type ObservedRequests } from "../requests.ts";

export const SIGNING_KEY_DOCUMENT_VERSION = 1;
export const MAX_SIGNING_KEYS = 3;

/** One signing key with its lifecycle. Times are RFC 3339. */
export interface StoredKey {
  jwk: PrivateJwk;
  state: KeyState;
  createdAt: string;
  /** When the key starts (or started) signing: createdAt + prePublish, or createdAt for a key active at once. */
  activatesAt: string;
  /** For a deposed key, the end of its grace window; null otherwise. */
  notAfter: string | null;
}

export interface SigningKeyDocument {
  version: typeof SIGNING_KEY_DOCUMENT_VERSION;
  /** At most three: one active, at most one prepared, at most one deposed. Order: prepared, active, deposed. */
  keys: StoredKey[];
  /** RFC 3339: when the last rotation (or the first key) was made; the schedule counts from it. */
  lastRotationTime: string;
  observedRequests: ObservedRequests;
  /** RFC 3339: the revocation cut-off on `iat` in effect; it only moves forward. */
  revokedBefore: string | null;
}

/** The signing-key document is not one keyward can use. `field` is a JSON path in it. */
export class SigningKeyDocumentError extends KeywardError {
  readonly code = "ERR_SIGNING_KEY_DOCUMENT";
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = "SigningKeyDocumentError";
    this.field = field;
  }
}

const STATE_ORDER: Record<KeyState, number> = { prepared: 0, active: 1, deposed: 2 };

/** Keys in document order: prepared, active, deposed. */
export function sortKeys(keys: readonly StoredKey[]): StoredKey[] {
  return [...keys].sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state]);
}

/** The document as stored: stable member order, so an unchanged document serializes to the same text. */
export function serializeSigningKeys(doc: SigningKeyDocument): string {
  const observed: ObservedRequests = {};
  for (const field of REQUEST_FIELDS) {
    const value = doc.observedRequests[field];
    if (value !== undefined) observed[field] = value;
  }
  return JSON.stringify({
    version: doc.version,
    keys: sortKeys(doc.keys).map((k) => ({
      jwk: canonicalJwk(k.jwk),
      state: k.state,
      createdAt: k.createdAt,
      activatesAt: k.activatesAt,
      notAfter: k.notAfter,
    })),
    lastRotationTime: doc.lastRotationTime,
    observedRequests: observed,
    revokedBefore: doc.revokedBefore,
  });
}

const JWK_MEMBERS = ["kty", "crv", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi", "kid", "alg", "use"] as const;

function canonicalJwk(jwk: PrivateJwk): PrivateJwk {
  const out: Record<string, unknown> = {};
  for (const m of JWK_MEMBERS) if (jwk[m] !== undefined) out[m] = jwk[m];
  return out as unknown as PrivateJwk;
}

/** Parses and checks a signing-key document. Throws SigningKeyDocumentError naming the bad field. */
export function parseSigningKeys(text: string): SigningKeyDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new SigningKeyDocumentError("$", "is not JSON");
  }
  const doc = obj(raw, "$");
  if (doc.version !== SIGNING_KEY_DOCUMENT_VERSION) {
    throw new SigningKeyDocumentError("version", `must be ${SIGNING_KEY_DOCUMENT_VERSION}`);
  }
  if (!Array.isArray(doc.keys)) throw new SigningKeyDocumentError("keys", "must be an array");
  const rawKeys: unknown[] = doc.keys;
  if (rawKeys.length === 0 || rawKeys.length > MAX_SIGNING_KEYS) {
    throw new SigningKeyDocumentError("keys", `must hold 1 to ${MAX_SIGNING_KEYS} keys, holds ${rawKeys.length}`);
  }
  const keys = rawKeys.map((k, i) => parseStoredKey(k, `keys[${i}]`));
  const kids = new Set<string>();
  const count: Record<KeyState, number> = { prepared: 0, active: 0, deposed: 0 };
  keys.forEach((k, i) => {
    if (kids.has(k.jwk.kid)) throw new SigningKeyDocumentError(`keys[${i}].jwk.kid`, "appears twice");
    kids.add(k.jwk.kid);
    count[k.state]++;
  });
  if (count.active !== 1) throw new SigningKeyDocumentError("keys", `must hold exactly one active key, holds ${count.active}`);
  if (count.prepared > 1) throw new SigningKeyDocumentError("keys", "must hold at most one prepared key");
  if (count.deposed > 1) throw new SigningKeyDocumentError("keys", "must hold at most one deposed key");

  const lastRotationTime = time(doc.lastRotationTime, "lastRotationTime");
  const observed = obj(doc.observedRequests ?? {}, "observedRequests");
  const observedRequests: ObservedRequests = {};
  for (const field of REQUEST_FIELDS) {
    const value = observed[field];
    if (value === undefined) continue;
    if (typeof value !== "string") throw new SigningKeyDocumentError(`observedRequests.${field}`, "must be a string");
    observedRequests[field] = value;
  }
  const revokedBefore = doc.revokedBefore === null || doc.revokedBefore === undefined ? null : time(doc.revokedBefore, "revokedBefore");
  return { version: SIGNING_KEY_DOCUMENT_VERSION, keys: sortKeys(keys), lastRotationTime, observedRequests, revokedBefore };
}

function parseStoredKey(raw: unknown, at: string): StoredKey {
  const k = obj(raw, at);
  const state = KEY_STATES.find((s) => s === k.state);
  if (state === undefined) throw new SigningKeyDocumentError(`${at}.state`, `must be one of ${KEY_STATES.join(", ")}`);
  const jwk = parsePrivateJwk(k.jwk, `${at}.jwk`);
  const createdAt = time(k.createdAt, `${at}.createdAt`);
  const activatesAt = time(k.activatesAt, `${at}.activatesAt`);
  let notAfter: string | null = null;
  if (state === "deposed") {
    notAfter = time(k.notAfter, `${at}.notAfter`);
  } else if (k.notAfter !== null && k.notAfter !== undefined) {
    throw new SigningKeyDocumentError(`${at}.notAfter`, `must be null for ${state === "active" ? "an" : "a"} ${state} key`);
  }
  return { jwk, state, createdAt, activatesAt, notAfter };
}

const MEMBERS_BY_KTY = {
  OKP: ["x", "d"],
  EC: ["x", "y", "d"],
  RSA: ["n", "e", "d", "p", "q", "dp", "dq", "qi"],
} as const;

const KTY_OF: Record<Algorithm, keyof typeof MEMBERS_BY_KTY> = { EdDSA: "OKP", ES256: "EC", RS256: "RSA" };
const CRV_OF: Record<Algorithm, string | undefined> = { EdDSA: "Ed25519", ES256: "P-256", RS256: undefined };
const B64URL = /^[A-Za-z0-9_-]+$/;

function parsePrivateJwk(raw: unknown, at: string): PrivateJwk {
  const j = obj(raw, at);
  const alg = ALGORITHMS.find((a) => a === j.alg);
  if (alg === undefined) throw new SigningKeyDocumentError(`${at}.alg`, `must be one of ${ALGORITHMS.join(", ")}`);
  const kty = KTY_OF[alg];
  if (j.kty !== kty) throw new SigningKeyDocumentError(`${at}.kty`, `must be ${kty} for ${alg}`);
  if (j.crv !== CRV_OF[alg]) throw new SigningKeyDocumentError(`${at}.crv`, `must be ${CRV_OF[alg] ?? "absent"} for ${alg}`);
  if (j.use !== "sig") throw new SigningKeyDocumentError(`${at}.use`, 'must be "sig"');
  if (typeof j.kid !== "string" || !B64URL.test(j.kid)) {
    throw new SigningKeyDocumentError(`${at}.kid`, "must be a base64url JWK thumbprint");
  }
  for (const m of MEMBERS_BY_KTY[kty]) {
    const v = j[m];
    if (typeof v !== "string" || !B64URL.test(v)) throw new SigningKeyDocumentError(`${at}.${m}`, "must be a base64url string");
  }
  let thumbprint: string | null;
  try {
    thumbprint = jwkThumbprint(j as unknown as PrivateJwk);
  } catch {
    thumbprint = null;
  }
  if (thumbprint !== j.kid) throw new SigningKeyDocumentError(`${at}.kid`, "is not the RFC 7638 thumbprint of the key");
  const out: Record<string, unknown> = { kty };
  if (CRV_OF[alg] !== undefined) out.crv = CRV_OF[alg];
  for (const m of MEMBERS_BY_KTY[kty]) out[m] = j[m];
  Object.assign(out, { kid: j.kid, alg, use: "sig" });
  return out as unknown as PrivateJwk;
}

function obj(raw: unknown, at: string): Record<string, unknown> {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new SigningKeyDocumentError(at, "must be an object");
  return raw as Record<string, unknown>;
}

function time(raw: unknown, at: string): string {
  if (typeof raw !== "string" || parseTime(raw) === null) throw new SigningKeyDocumentError(at, "must be an RFC 3339 time");
  return raw;
}
