// Gauges of the verifiers' reports, worked out when /metrics is read (no timer, no write):
// how many verifiers are SYNCED, STALE or DEAD over all tenants, and how long the most
// lagging STALE verifier has been behind. Labels are states, never a tenant or Pod name.

import { Gauge, type Registry } from "prom-client";
import type { VerifierViews } from "./views.ts";

/**
 * `pendingSince`: when each revocation not enforced yet was requested (ms), read at scrape
 * time from the caches.
 */
export function registerVerifierGauges(registry: Registry, views: VerifierViews, pendingSince: () => number[], now: () => number): void {
  const registers = [registry];
  new Gauge({
    name: "keyward_verifiers",
    help: "Verifiers that report, by state: SYNCED (enforces the tenant's current bundle generation), STALE (live, an older one), DEAD (no heartbeat within --verifier-ttl).",
    labelNames: ["state"],
    registers,
    collect() {
      const counts = { SYNCED: 0, STALE: 0, DEAD: 0 };
      for (const tenant of views.tenants()) {
        const v = views.view(tenant);
        counts.SYNCED += v.synced;
        counts.STALE += v.stale;
        counts.DEAD += v.dead;
      }
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: "keyward_verifier_stale_seconds",
    help: "Seconds the most lagging live verifier has been without its tenant's current bundle generation; 0 when every live verifier is SYNCED.",
    registers,
    collect() {
      let worst = 0;
      for (const tenant of views.tenants()) for (const row of views.view(tenant).rows) if (row.behindMs !== null) worst = Math.max(worst, row.behindMs / 1000);
      this.set(worst);
    },
  });
  new Gauge({
    name: "keyward_revocation_pending_seconds",
    help: "Seconds since the oldest revocation (of an ApiKey, an AccessToken or an IssuedToken) not yet enforced by every live verifier of its tenant was requested; 0 when none is pending.",
    registers,
    collect() {
      const at = now();
      let worst = 0;
      for (const since of pendingSince()) worst = Math.max(worst, (at - since) / 1000);
      this.set(worst);
    },
  });
}
