export { startVerifier, type RunningVerifier, type VerifierDeps } from "./app.ts";
export { ConfigError, parseVerifierArgs, verifierHelp, VERIFIER_FLAGS, type HostPort, type VerifierConfig, type VerifierMode } from "./config.ts";
export { Decider, type CheckRequest, type Decision } from "./decide.ts";
export { denyAnswer, unavailableAnswer, badRequestAnswer, type Answer } from "./answers.ts";
export { originalRequest } from "./authz.ts";
export { VerifierMetrics } from "./metrics.ts";
export { createLogger } from "./log.ts";
export { readiness } from "./admin.ts";
export * from "./bundle/index.ts";
