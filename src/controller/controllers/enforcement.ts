// Where a tenant's revocations stand, for measuring their enforcement (verifiers/revocation.ts):
// with verifier reports, the first generation seen listing each jti and the tenant's verifiers;
// without, the bundle as it is now and no verifiers (enforced at the bundle write).

import type { EnforcementLookup } from "../verifiers/revocation.ts";
import type { ControllerContext, Stores } from "./context.ts";
import { publishedBundle } from "./memo.ts";

export function enforcementLookup(ctx: { stores: Pick<Stores, "configMaps" | "bundleSegments">; verifiers?: ControllerContext["verifiers"] }, namespace: string): EnforcementLookup {
  const verifiers = ctx.verifiers ?? null;
  if (verifiers !== null) return { revokedIn: (jtis) => verifiers.revokedIn(namespace, jtis), view: () => verifiers.view(namespace) };
  return {
    // The bundle's generation once it lists every one of `jtis` as revoked, else null.
    revokedIn: (jtis) => {
      // The bundle with the revocation segments it names, as verifiers read it.
      const published = publishedBundle(ctx.stores, namespace);
      if (published === null) return null;
      return jtis.every((j) => published.listsJti(j)) ? published.bundle.generation : null;
    },
    view: () => null,
  };
}
