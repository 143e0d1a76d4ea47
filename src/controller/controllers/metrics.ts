// Metrics of keyward's own reconcilers, next to the runtime's in the manager's
// Registry. Labels are causes and kinds, never an object's name or data.

import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export class ControllerMetrics {
  readonly #bundleBytes: Histogram;
  readonly #bundleWrites: Counter;
  readonly #tooLarge: Gauge;
  readonly #keysMinted: Counter<"state">;
  readonly #tokensIssued: Counter<"cause">;
  readonly #tooLargeTenants = new Set<string>();
  readonly #activations: Histogram<"reason">;
  readonly #revocations: Histogram<"request">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#bundleBytes = new Histogram({
      name: "keyward_bundle_size_bytes",
      help: "Size of bundle.json plus jwks.json of each tenant bundle planned.",
      buckets: [4096, 16_384, 65_536, 131_072, 262_144, 524_288, 786_432, 983_040, 1_048_576],
      registers,
    });
    this.#bundleWrites = new Counter({
      name: "keyward_bundle_writes_total",
      help: "Bundle ConfigMaps written (a new generation each).",
      registers,
    });
    this.#tooLarge = new Gauge({
      name: "keyward_bundles_too_large",
      help: "Tenants whose bundle would exceed the ConfigMap size limit and was therefore not written.",
      registers,
    });
    this.#keysMinted = new Counter({
      name: "keyward_signing_keys_minted_total",
      help: "Signing keys generated, by the state they started in (active: first key, revokeAll or a lost Secret; prepared: a rotation).",
      labelNames: ["state"],
      registers,
    });
    this.#activations = new Histogram({
      name: "keyward_key_activation_seconds",
      help: "Seconds from minting a prepared key to its activation, by reason (VerifiersSynced: every live verifier held it; PrePublishElapsed).",
      labelNames: ["reason"],
      buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
      registers,
    });
    this.#revocations = new Histogram({
      name: "keyward_revocation_enforcement_seconds",
      help: "Seconds from a revocation request to the moment every live verifier of the tenant enforced it, by request (revokeAll, revokeIssuedBefore, dropDeposed, accessToken, issuedToken).",
      labelNames: ["request"],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.#tokensIssued = new Counter({
      name: "keyward_tokens_issued_total",
      help: "Access tokens issued, by cause (initial, renew, keyRotated, secretMissing, secretAltered, specChanged, revokedBefore).",
      labelNames: ["cause"],
      registers,
    });
  }

  /** A prepared key became active `seconds` after it was minted, for `reason` (VerifiersSynced, PrePublishElapsed). */
  keyActivated(reason: string, seconds: number): void {
    this.#activations.observe({ reason }, seconds);
  }

  /** Every live verifier enforces a revocation, `seconds` after it was requested. */
  revocationEnforced(request: string, seconds: number): void {
    this.#revocations.observe({ request }, seconds);
  }

  bundlePlanned(tenant: string, bytes: number, tooLarge: boolean): void {
    this.#bundleBytes.observe(bytes);
    if (tooLarge) this.#tooLargeTenants.add(tenant);
    else this.#tooLargeTenants.delete(tenant);
    this.#tooLarge.set(this.#tooLargeTenants.size);
  }

  bundleGone(tenant: string): void {
    this.#tooLargeTenants.delete(tenant);
    this.#tooLarge.set(this.#tooLargeTenants.size);
  }

  bundleWritten(): void {
    this.#bundleWrites.inc();
  }

  keyMinted(state: "active" | "prepared"): void {
    this.#keysMinted.inc({ state });
  }

  tokenIssued(cause: string): void {
    this.#tokensIssued.inc({ cause });
  }
}
