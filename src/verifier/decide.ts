// One decision per request: the token and the access policies, checked by the token
// library against the bundle in use, recorded in metrics and in the decision log.

import { performance } from "node:perf_hooks";
import { bearerToken, VerificationError, type FailureContext, type Identity, type TokenVerifier } from "../token/index.ts";
import type { UnavailableCode } from "./answers.ts";
import type { BundleStore } from "./bundle/store.ts";
import type { Logger } from "./log.ts";
import type { VerifierMetrics } from "./metrics.ts";

export interface CheckRequest {
  /** The method of the original request. */
  method: string;
  /** The raw path of the original request (no query); the token library normalises it. */
  path: string;
  /** The Authorization header as received. */
  authorization: string | undefined;
}


export type Decision =
  | { outcome: "allow"; identity: Identity }
  | { outcome: "deny"; error: VerificationError; context: FailureContext }
  | { outcome: "unavailable"; code: UnavailableCode };

export interface DeciderOptions {
  store: BundleStore;
  verifier: TokenVerifier;
  metrics: VerifierMetrics;
  logger: Logger;
  now: () => number;
  /** Fraction of allows logged. */
  decisionLogSample: number;
  /** Source of randomness for sampling; default Math.random. */
  random?: () => number;
}

/** Identity values go into request headers: 1 to 256 printable ASCII characters, no spaces. */
export function headerSafe(value: string): boolean {
  const n = value.length;
  if (n === 0 || n > 256) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

export class Decider {
  readonly #opts: DeciderOptions;
  readonly #random: () => number;

  constructor(opts: DeciderOptions) {
    this.#opts = opts;
    this.#random = opts.random ?? Math.random;
  }

  decide(req: CheckRequest): Decision {
    const started = performance.now();
    const decision = this.#check(req);
    const { metrics } = this.#opts;
    metrics.decisionDuration.observe((performance.now() - started) / 1000);
    switch (decision.outcome) {
      case "allow":
        metrics.countDecision("allow", "OK");
        break;
      case "deny":
        metrics.countDecision("deny", decision.error.code);
        break;
      case "unavailable":
        metrics.countDecision("unavailable", decision.code);
        break;
    }
    this.#log(req, decision);
    return decision;
  }

  #check(req: CheckRequest): Decision {
    const state = this.#opts.store.state();
    if (state.kind === "empty") return { outcome: "unavailable", code: "ERR_NO_BUNDLE" };
    if (state.kind === "stale") return { outcome: "unavailable", code: "ERR_BUNDLE_STALE" };
    const token = bearerToken(req.authorization);
    const result = this.#opts.verifier.verify(token, { method: req.method, path: req.path }, state.compiled, this.#opts.now());
    if (!result.ok) return { outcome: "deny", error: result.error, context: result.context };
    const id = result.identity;
    if (!headerSafe(id.jti) || !headerSafe(id.apiKey) || !headerSafe(id.tenant)) {
      return {
        outcome: "deny",
        error: new VerificationError("ERR_CLAIMS_INVALID", "jti has characters that cannot be passed on in a header"),
        context: { kid: id.kid, apiKey: id.apiKey },
      };
    }
    return { outcome: "allow", identity: id };
  }

  #log(req: CheckRequest, d: Decision): void {
    const { logger } = this.#opts;
    if (d.outcome === "allow") {
      const sample = this.#opts.decisionLogSample;
      if (sample <= 0 || (sample < 1 && this.#random() >= sample)) return;
      const id = d.identity;
      logger.info(
        { event: "decision", decision: "allow", code: "OK", method: req.method, path: req.path, apiKey: id.apiKey, tenant: id.tenant, jti: id.jti, kid: id.kid, rule: id.rule },
        "request allowed",
      );
    } else if (d.outcome === "deny") {
      logger.info(
        { event: "decision", decision: "deny", code: d.error.code, status: d.error.status, method: req.method, path: req.path, apiKey: d.context.apiKey, jti: d.context.jti, kid: d.context.kid, rule: d.context.rule, reason: d.error.message },
        "request denied",
      );
    } else {
      logger.debug({ event: "decision", decision: "unavailable", code: d.code, method: req.method, path: req.path }, "request refused: no usable bundle");
    }
  }
}
