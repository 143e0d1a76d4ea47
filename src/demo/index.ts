export { DEFAULT_NAMESPACE, DEFAULT_REVOCATION_BUDGET_MS, DEFAULT_TIMEOUT_MS, DEMO_USAGE, DemoUsageError, parseDemoArgs } from "./args.ts";
export type { ClusterChoice, DemoInvocation, DemoOptions, ParseContext } from "./args.ts";
export {
  accessTokenNotReady,
  apiKeyNotReady,
  applyManifests,
  conditionOf,
  connect,
  createSystemNamespace,
  DEMO_FIELD_MANAGER,
  describeCondition,
  missingCrds,
  readToken,
  resourceFor,
  shortKid,
  writeVerifierKubeconfig,
} from "./cluster.ts";
export type { DemoToken } from "./cluster.ts";
export { answerCode, describeAnswer, describeRequest, expectStatus, HttpProbe, parseMetric, readMetric, waitForStatus } from "./http.ts";
export type { HttpAnswer, ProbeRequest, StatusCheck, StatusWait, WaitForStatusOptions } from "./http.ts";
export { isClusterScoped, readKustomization, readManifestFiles, retarget } from "./manifests.ts";
export type { LoadedManifest, Manifest } from "./manifests.ts";
export { ChildExitedError, KEYWARD_CLI, Supervisor } from "./processes.ts";
export type { HealthWaitOptions, SupervisorOptions } from "./processes.ts";
export { runDemo } from "./run.ts";
export type { DemoIO, DemoResult } from "./run.ts";
export { ALLOWED_PATH, DEMO_API_KEY, DEMO_CI_TOKEN, DEMO_TOKEN, SAMPLE_ROLES, Scenario, SCENARIO_TITLES, tamper } from "./scenario.ts";
export type { ScenarioContext, ScenarioStep } from "./scenario.ts";
export { DEMO_ISSUER, keepInstructions, setupSteps, tearDown } from "./setup.ts";
export type { SetupContext, SetupStep, World } from "./setup.ts";
export { formatForPeople, formatElapsed, formatStep, formatSummary, Timeline } from "./timeline.ts";
export type { CheckRecord, Outcome, StepContext, StepRecord, Style, TimelineOptions } from "./timeline.ts";
export { startUpstream } from "./upstream.ts";
export type { Upstream, UpstreamSeen } from "./upstream.ts";
export { DemoAbortedError, pause, throwIfAborted, waitUntil, WaitTimeoutError } from "./wait.ts";
export type { Probe, WaitOptions } from "./wait.ts";
