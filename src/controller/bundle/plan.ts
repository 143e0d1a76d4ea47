// planBundle: the tenant bundle (bundle.json) and JWK Set (jwks.json) a namespace
// should publish, from its ApiKeys, AccessPolicies and revocations and from the
// bundle its ConfigMap holds now. Pure.
//
// The controller's record (a ConfigMap in keyward's own namespace holding the
// bundle.json it last decided) is the source of truth for what is carried over —
// revocations of AccessTokens that no longer exist, revocation cut-offs, and the
// keys and allowNonExpiring of an ApiKey whose Secret or policy cannot be read —
// and for the generation. The tenant's ConfigMap, which any editor of the
// namespace can write, is never read for them once a record exists: an edit is
// simply overwritten. Without a record (the first run after signing came), the
// record starts from the tenant's bundle once (previousOf): all of it when the
// controller's own signature holds, else only what refuses more (revocations and
// cut-offs), never keys or allowNonExpiring.
//
// `generation` grows by one on each change of content; a resync that finds the
// same content writes nothing. Without a record or a bundle the controller signed,
// the generation starts from the current time in milliseconds, which is above any
// generation a verifier may still hold from before.

import type { AccessPolicySpec } from "../../api/types.generated.ts";
import {
  BUNDLE_API_VERSION,
  BundleError,
  buildBundle,
  verifyBundleSignature,
  type TrustSet,
  jwkSetOf,
  parseBundle,
  revocationNeeded,
  REVOKED_RETENTION_SECONDS,
  serializeBundle,
  validateBundle,
  type Bundle,
  type BundleApiKey,
  type BundleKey,
  type BundlePolicy,
  type JwkSet,
  type RevokedEntry,
  type RevokedSegmentRef,
} from "../../token/index.ts";
import { readSegment } from "./segment-reads.ts";
import { DEFAULT_SEAL_AT, DEFAULT_SEGMENT_MAX_BYTES, planSegments, type ExistingSegment, type PlannedSegment } from "./segments.ts";
import { floorToSecond, formatTime, parseTime } from "../../model/policy/time.ts";
import { eventOf, type PlannedEvent } from "../../model/reasons.ts";

import { BUNDLE_CONFIGMAP_NAME, BUNDLE_DATA_KEY, BUNDLE_SIGNATURE_DATA_KEY, CONFIGMAP_LIMIT_BYTES, JWKS_DATA_KEY } from "../../model/names.ts";

/** A ConfigMap may hold 1 MiB; the rest of the object (metadata, managed fields) needs room too. */
export const BUNDLE_SIZE_MARGIN_BYTES = 64 * 1024;
export const DEFAULT_BUNDLE_SIZE_LIMIT = CONFIGMAP_LIMIT_BYTES - BUNDLE_SIZE_MARGIN_BYTES;

export interface BundleApiKeyInput {
  name: string;
  uid: string;
  /** Being deleted: left out of the bundle with its keys and revocations. */
  deleting: boolean;
  suspended: boolean;
  /** spec.policies. */
  policies: readonly string[];
  /** The revocation cut-off (RFC 3339) from the signing-key Secret; the bundle's own never moves earlier for the same uid. */
  revokedBefore: string | null;
  /** The rotation policy's allowNeverExpires; null while the policy cannot be resolved (the bundle's value is kept). */
  allowNonExpiring: boolean | null;
  /** The public keys (bundleKeysOf); null while the signing-key Secret cannot be read (the bundle's keys are kept). */
  keys: readonly BundleKey[] | null;
}

export interface AccessPolicyInput {
  name: string;
  spec: AccessPolicySpec;
}

export interface PlanBundleInput {
  tenant: string;
  issuer: string;
  now: Date;
  apiKeys: readonly BundleApiKeyInput[];
  accessPolicies: readonly AccessPolicyInput[];
  /** Entries of AccessTokens that are revoked or being deleted (revocationsOf). */
  revocations: readonly RevokedEntry[];
  /** The data of the keyward-bundle ConfigMap, or null when it does not exist. */
  current: Readonly<Record<string, string>> | null;
  /** The bundle.json of the controller's record, or null when there is none. */
  record: string | null;
  /** The controller's published bundle-signing keys: without a record, a tenant bundle they verify is taken whole. */
  trust: TrustSet | null;
  /** Largest bundle.json + jwks.json in bytes; DEFAULT_BUNDLE_SIZE_LIMIT unless set. */
  sizeLimit?: number;
  /** The record's copies of revocation segments (revoked.json), by slot name. */
  recordSegments?: ReadonlyMap<string, string>;
  /** The tenant's revocation segment slots (revoked.json), by name. */
  tenantSegments?: ReadonlyMap<string, string>;
  /** Loose revocations at which they move into a segment; DEFAULT_SEAL_AT unless set. */
  sealAt?: number;
  /** Largest revoked.json of a segment; DEFAULT_SEGMENT_MAX_BYTES unless set. */
  segmentMaxBytes?: number;
}

/** Per ApiKey: the AccessPolicies it names that are not in the bundle, and why. */
export interface PolicyProblems {
  missing: string[];
  /** Policy name → why the bundle cannot carry it. */
  invalid: Record<string, string>;
}

interface PlanCommon {
  /** What the ConfigMap held: a readable bundle, nothing, or something unreadable. */
  currentState: "ok" | "missing" | "corrupt";
  /** Where the previous bundle came from: the record, the tenant's bundle (signed by the controller, or not), or nowhere. */
  previousFrom: PreviousSource;
  /** The generation in the ConfigMap now; null when it holds none. */
  currentGeneration: number | null;
  /** bundle.json + jwks.json in bytes. */
  size: number;
  limit: number;
  policyProblems: Record<string, PolicyProblems>;
  events: PlannedEvent[];
}

export type BundlePlan =
  | (PlanCommon & {
      ok: true;
      bundle: Bundle;
      jwks: JwkSet;
      /** The ConfigMap's data. */
      data: { [BUNDLE_DATA_KEY]: string; [JWKS_DATA_KEY]: string };
      /** The revocation segments the bundle names (written into their slots, record copy first, before the bundle). */
      segments: PlannedSegment[];
      /** Whether the record must be written (the content changed). */
      changed: boolean;
      /** Whether the tenant ConfigMap holds exactly this bundle.json and jwks.json (its signature aside). */
      inPlace: boolean;
      /** When the bundle must change by time alone (a deposed key's notAfter, a segment half expired); null when never. */
      nextWakeAt: Date | null;
    })
  | (PlanCommon & {
      ok: false;
      reason: "BundleTooLarge";
      /** Names the tenant, the sizes and the fix. */
      message: string;
    });

export function planBundle(input: PlanBundleInput): BundlePlan {
  const now = floorToSecond(input.now);
  const limit = input.sizeLimit ?? DEFAULT_BUNDLE_SIZE_LIMIT;
  const events: PlannedEvent[] = [];
  const current = readBundleData(input.current);
  const { previous, generationBase, from } = previousOf(input, current);
  if (from === "none" && current.state === "corrupt") {
    events.push(
      eventOf(
        "BundleReplaced",
        `ConfigMap ${input.tenant}/${BUNDLE_CONFIGMAP_NAME} held no readable bundle (${current.why}) and the controller has no record of it; it is rewritten, and revocations of deleted AccessTokens it held are lost`,
      ),
    );
  } else if (from === "record" && input.current !== null && input.current[BUNDLE_DATA_KEY] !== input.record) {
    events.push(
      eventOf(
        "BundleReplaced",
        `ConfigMap ${input.tenant}/${BUNDLE_CONFIGMAP_NAME} does not hold the bundle the controller wrote (generation ${previous?.generation ?? "?"}): ` +
          `it was edited or is unreadable, and is rewritten from the controller's record; only the keyward controller writes it`,
      ),
    );
  }

  const live = input.apiKeys.filter((a) => !a.deleting);
  const { available, invalid } = namedPolicies(input.tenant, live, input.accessPolicies);
  const { apiKeys, keys, policyProblems } = apiKeyEntries(live, previous, available, invalid, now);
  const policies: Record<string, BundlePolicy> = {};
  for (const [name, policy] of available) {
    if (Object.values(apiKeys).some((a) => a.policies.includes(name))) policies[name] = policy;
  }
  const existing = existingSegments(input, previous, events);
  // Only live ApiKeys have keys here: a revocation of any other is no longer needed either.
  const needed = revocationNeeded(keys, now);
  // The revocations of objects revoked now come after the previous head's: the later entry of a (ApiKey, jti) wins.
  const loose = [...(previous?.revoked ?? []), ...input.revocations];
  const inUse = new Set([...(previous?.revokedSegments ?? []), ...(current.state === "ok" ? (current.bundle.revokedSegments ?? []) : [])].map((r) => r.name));
  const draft = (mustSeal: boolean) => {
    const layout = planSegments({
      tenant: input.tenant,
      loose,
      needed,
      previous: existing,
      inUse,
      mustSeal,
      sealAt: input.sealAt ?? DEFAULT_SEAL_AT,
      segmentMaxBytes: input.segmentMaxBytes ?? DEFAULT_SEGMENT_MAX_BYTES,
    });
    const content = { tenant: input.tenant, issuer: input.issuer, keys, apiKeys, policies, revoked: layout.head, revokedSegments: layout.segments.map((x) => x.ref) };
    const { bundle, unchanged } = nextBundle(content, previous, generationBase, input.record, now);
    const bundleJson = serializeBundle(bundle);
    const jwks = jwkSetOf(bundle.keys);
    const jwksJson = JSON.stringify(jwks);
    const size = Buffer.byteLength(bundleJson, "utf8") + Buffer.byteLength(jwksJson, "utf8");
    return { layout, bundle, unchanged, bundleJson, jwks, jwksJson, size };
  };
  let planned = draft(false);
  // The head would not fit with its loose revocations: they go into segments now.
  if (planned.size > limit && planned.layout.head.length > 0) planned = draft(true);
  const { layout, bundle, unchanged, bundleJson, jwks, jwksJson, size } = planned;
  const common: PlanCommon = {
    currentState: current.state,
    previousFrom: from,
    currentGeneration: previous?.generation ?? null,
    size,
    limit,
    policyProblems,
    events,
  };
  if (size > limit) {
    const full = layout.unplaced > 0 ? ` (every revocation segment slot is in use: ${layout.unplaced} revocations could not move out of bundle.json)` : "";
    const message =
      `the bundle of tenant ${input.tenant} would be ${size} bytes (bundle.json and jwks.json), over the limit of ${limit} bytes ` +
      `for ConfigMap ${input.tenant}/${BUNDLE_CONFIGMAP_NAME}${full}; it was not written and verifiers keep ` +
      `${previous === null ? "no bundle" : `generation ${previous.generation}`}: remove unused ApiKeys, AccessPolicies or rules in namespace ${input.tenant}`;
    events.push(eventOf("BundleTooLarge", message));
    return { ...common, ok: false, reason: "BundleTooLarge", message };
  }
  return {
    ...common,
    ok: true,
    bundle,
    jwks,
    data: { [BUNDLE_DATA_KEY]: bundleJson, [JWKS_DATA_KEY]: jwksJson },
    segments: layout.segments,
    changed: !unchanged,
    inPlace: input.current?.[BUNDLE_DATA_KEY] === bundleJson && input.current[JWKS_DATA_KEY] === jwksJson,
    nextWakeAt: earliest([earliestNotAfter(bundle.keys), halfExpired(layout.segments, existing)]),
  };
}

/**
 * The segments the previous bundle names, each read from the record's copy or else
 * the tenant's slot, whichever holds the bytes named; a segment neither holds is
 * lost with its revocations, and said so.
 */
function existingSegments(input: PlanBundleInput, previous: Bundle | null, events: PlannedEvent[]): ExistingSegment[] {
  const out: ExistingSegment[] = [];
  if (previous === null) return out;
  for (const ref of previous.revokedSegments ?? []) {
    const read = readSegmentOf(input, previous, ref);
    if (read === null) {
      events.push(
        eventOf(
          "BundleReplaced",
          `the revocation segment ${input.tenant}/${ref.name} of generation ${previous.generation} is neither in the controller's record nor in the tenant's ConfigMap with the bytes named: ` +
            `its ${ref.count} revocations are lost (only the keyward controller writes these ConfigMaps)`,
        ),
      );
      continue;
    }
    out.push(read);
  }
  return out;
}

function readSegmentOf(input: PlanBundleInput, previous: Bundle, ref: RevokedSegmentRef): ExistingSegment | null {
  for (const text of [input.recordSegments?.get(ref.name), input.tenantSegments?.get(ref.name)]) {
    if (text === undefined) continue;
    const read = readSegment(previous, ref, text);
    if (read !== null) return { ref, text, read };
  }
  return null;
}

/**
 * When a segment the bundle names will hold fewer than half wanted entries by
 * expiry alone (its compaction is due): its median exp plus the retention.
 */
function halfExpired(segments: readonly PlannedSegment[], existing: readonly ExistingSegment[]): Date | null {
  const medianOf = new Map(existing.map((e) => [e.ref.sha256, e.read.medianExp]));
  let best: number | null = null;
  for (const s of segments) {
    const median = medianOf.get(s.ref.sha256) ?? null;
    if (median === null) continue;
    const at = (median + REVOKED_RETENTION_SECONDS + 1) * 1000;
    if (best === null || at < best) best = at;
  }
  return best === null ? null : new Date(best);
}

function earliest(dates: readonly (Date | null)[]): Date | null {
  let best: Date | null = null;
  for (const d of dates) if (d !== null && (best === null || d.getTime() < best.getTime())) best = d;
  return best;
}

/** The AccessPolicies some live ApiKey names: those the bundle can carry, and why the others cannot. */
function namedPolicies(tenant: string, live: readonly BundleApiKeyInput[], accessPolicies: readonly AccessPolicyInput[]): { available: Map<string, BundlePolicy>; invalid: Map<string, string> } {
  const named = new Set(live.flatMap((a) => a.policies));
  const available = new Map<string, BundlePolicy>();
  const invalid = new Map<string, string>();
  for (const p of accessPolicies) {
    if (!named.has(p.name)) continue;
    const checked = checkPolicy(tenant, p);
    if (typeof checked === "string") invalid.set(p.name, checked);
    else available.set(p.name, checked);
  }
  return { available, invalid };
}

/**
 * Each live ApiKey's entry, its keys (a deposed key past notAfter left out; the
 * bundle's own when the Secret cannot be read) and the policies it names that the
 * bundle does not carry.
 */
function apiKeyEntries(
  live: readonly BundleApiKeyInput[],
  previous: Bundle | null,
  available: ReadonlyMap<string, BundlePolicy>,
  invalid: ReadonlyMap<string, string>,
  now: Date,
): { apiKeys: Record<string, BundleApiKey>; keys: BundleKey[]; policyProblems: Record<string, PolicyProblems> } {
  const apiKeys: Record<string, BundleApiKey> = {};
  const keys: BundleKey[] = [];
  const policyProblems: Record<string, PolicyProblems> = {};
  for (const a of live) {
    const before = previous?.apiKeys[a.name];
    const attached = [...new Set(a.policies)].filter((p) => available.has(p));
    const missing = a.policies.filter((p) => !available.has(p) && !invalid.has(p));
    const bad: Record<string, string> = {};
    for (const p of a.policies) {
      const why = invalid.get(p);
      if (why !== undefined) bad[p] = why;
    }
    policyProblems[a.name] = { missing: [...new Set(missing)], invalid: bad };
    apiKeys[a.name] = {
      uid: a.uid,
      policies: attached,
      suspended: a.suspended,
      revokedBefore: laterCutoff(a.revokedBefore, before?.uid === a.uid ? before.revokedBefore : null),
      allowNonExpiring: a.allowNonExpiring ?? before?.allowNonExpiring ?? false,
    };
    // The Secret cannot be read: the keys published before, for this very ApiKey (same uid) only.
    const own = a.keys ?? (before?.uid === a.uid ? previous?.keys.filter((k) => k.apiKey === a.name) : undefined) ?? [];
    for (const k of own) {
      if (k.state === "deposed") {
        const notAfter = k.notAfter === null ? null : parseTime(k.notAfter);
        if (notAfter === null || notAfter.getTime() <= now.getTime()) continue;
      }
      keys.push({ ...k, apiKey: a.name });
    }
  }
  return { apiKeys, keys, policyProblems };
}

export type PreviousSource = "record" | "signed" | "unsigned" | "none";

/**
 * The bundle planned against, and the generation the next one follows: the record's;
 * without a record, the tenant's bundle once — whole when the controller's own
 * signature holds, else only what refuses more (revocations and cut-offs, no keys,
 * allowNonExpiring false) and no generation; else nothing.
 */
export function previousOf(input: Pick<PlanBundleInput, "record" | "current" | "trust" | "tenant">, current: CurrentBundle): { previous: Bundle | null; generationBase: number | null; from: PreviousSource } {
  if (input.record !== null) {
    const record = readRecord(input.tenant, input.record, input.current);
    if (record.state === "ok" && record.bundle.tenant === input.tenant) return { previous: record.bundle, generationBase: record.bundle.generation, from: "record" };
  }
  if (current.state !== "ok" || current.bundle.tenant !== input.tenant) return { previous: null, generationBase: null, from: "none" };
  if (input.trust !== null && input.current !== null) {
    try {
      verifyBundleSignature(input.current[BUNDLE_DATA_KEY] ?? "", input.current[BUNDLE_SIGNATURE_DATA_KEY], input.trust);
      return { previous: current.bundle, generationBase: current.bundle.generation, from: "signed" };
    } catch (err) {
      if (!(err instanceof BundleError)) throw err;
    }
  }
  const b = current.bundle;
  const apiKeys: Record<string, BundleApiKey> = {};
  for (const [name, a] of Object.entries(b.apiKeys)) apiKeys[name] = { ...a, allowNonExpiring: false };
  return { previous: { ...b, keys: [], apiKeys }, generationBase: null, from: "unsigned" };
}

/**
 * The bundle of `content`: under the record's generation when the record already
 * holds exactly it (nothing is written), else under the next one (the current time
 * in milliseconds when there is no generation to follow).
 */
function nextBundle(
  content: Omit<Parameters<typeof buildBundle>[0], "generation" | "generatedAt">,
  previous: Bundle | null,
  generationBase: number | null,
  record: string | null,
  now: Date,
): { bundle: Bundle; unchanged: boolean } {
  if (previous !== null && generationBase !== null) {
    const same = buildBundle({ ...content, generation: generationBase, generatedAt: previous.generatedAt });
    if (serializeBundle(same) === record) return { bundle: same, unchanged: true };
  }
  const generation = generationBase === null ? now.getTime() : Math.max(generationBase + 1, 0);
  if (!Number.isSafeInteger(generation)) throw new BundleError("ERR_BUNDLE_FIELD", "generation", `the next generation after ${generationBase} is not a safe integer`);
  return { bundle: buildBundle({ ...content, generation, generatedAt: formatTime(now) }), unchanged: false };
}

/** Revocation is irreversible: the bundle's cut-off for the same ApiKey (same uid) never moves earlier. */
function laterCutoff(wanted: string | null, published: string | null): string | null {
  if (published === null) return wanted;
  if (wanted === null) return published;
  const a = parseTime(wanted);
  const b = parseTime(published);
  if (a === null) return published;
  if (b === null) return wanted;
  return a.getTime() >= b.getTime() ? wanted : published;
}

export type CurrentBundle = { state: "ok"; bundle: Bundle } | { state: "missing" } | { state: "corrupt"; why: string };

/**
 * The bundle read from each ConfigMap's data, by the data object: a tenant's
 * bundle is planned against many times between two writes, and parsing and
 * validating tens of kilobytes each time would cost more than planning. An
 * informer replaces an object on every change and never mutates one, so the
 * data object stands for its content, and an entry goes with the object it was
 * read from: only the bundles in the cache are kept, never an older text.
 */
const reads = new WeakMap<Readonly<Record<string, string>>, CurrentBundle>();

/** The bundle a ConfigMap's data holds, read once per data object (the controllers' bundleOf reads through it too). */
export function readBundleData(data: Readonly<Record<string, string>> | null): CurrentBundle {
  if (data === null) return { state: "missing" };
  const known = reads.get(data);
  if (known !== undefined) return known;
  const text = data[BUNDLE_DATA_KEY];
  if (text === undefined) return { state: "missing" };
  const read = parseText(text);
  reads.set(data, read);
  return read;
}

/**
 * The record's bundle, by tenant: the last text read and what it held. The
 * record usually holds the text of the tenant's bundle, whose read is reused.
 */
const records = new Map<string, { text: string; read: CurrentBundle }>();

function readRecord(tenant: string, text: string, current: Readonly<Record<string, string>> | null): CurrentBundle {
  if (current !== null && current[BUNDLE_DATA_KEY] === text) return readBundleData(current);
  const known = records.get(tenant);
  if (known !== undefined && known.text === text) return known.read;
  const read = parseText(text);
  records.set(tenant, { text, read });
  return read;
}

function parseText(text: string): CurrentBundle {
  let read: CurrentBundle;
  try {
    read = { state: "ok", bundle: parseBundle(text) };
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    read = { state: "corrupt", why: `${err.code} at ${err.field}` };
  }
  return read;
}

/** The policy as the bundle carries it, or why it cannot (the verifier's own validation decides). */
function checkPolicy(tenant: string, p: AccessPolicyInput): BundlePolicy | string {
  const policy: BundlePolicy = {
    rules: p.spec.rules.map((r) => ({ effect: r.effect ?? "Allow", methods: [...r.methods], paths: [...r.paths] })),
  };
  try {
    validateBundle({
      apiVersion: BUNDLE_API_VERSION,
      tenant,
      issuer: "x",
      generation: 0,
      generatedAt: "1970-01-01T00:00:00Z",
      keys: [],
      apiKeys: {},
      policies: { [p.name]: policy },
      revoked: [],
    });
    return policy;
  } catch (err) {
    if (err instanceof BundleError) return err.message;
    throw err;
  }
}

function earliestNotAfter(keys: readonly BundleKey[]): Date | null {
  let best: Date | null = null;
  for (const k of keys) {
    const at = k.notAfter === null ? null : parseTime(k.notAfter);
    if (at !== null && (best === null || at.getTime() < best.getTime())) best = at;
  }
  return best;
}
