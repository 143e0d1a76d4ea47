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
    this.#tokensIssued = new Counter({
      name: "keyward_tokens_issued_total",
      help: "Access tokens issued, by cause (initial, renew, keyRotated, secretMissing, secretAltered, specChanged, revokedBefore).",
      labelNames: ["cause"],
      registers,
    });
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
