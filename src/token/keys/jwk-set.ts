import type { JwkSet, PublicJwk } from "../types.ts";
import { publicJwkOf } from "./public.ts";

/**
 * A plain RFC 7517 JWK Set of the given keys, in the given order, each with only
 * its public members, `kid`, `alg` and `use` (bundle fields such as `apiKey` and
 * `state` are dropped), for third-party verifiers.
 */
export function jwkSetOf(keys: readonly PublicJwk[]): JwkSet {
  return { keys: keys.map(publicJwkOf) };
}
