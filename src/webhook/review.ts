// One AdmissionReview (admission.k8s.io/v1) in, its response out: the Pod of a CREATE goes
// through injectPod; the answer is a JSON Patch, "allowed" with no patch (not opted in, already
// injected), or a denial whose message names the Pod, the annotation and the fix. Pure.
// Dry-run requests get the same answer: the webhook has no side effects.

import { InjectionError, injectPod, podPatch, type PodLike } from "../injector/index.ts";

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  operation?: string;
  namespace?: string;
  name?: string;
  object?: unknown;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: "JSONPatch";
  /** base64 of the JSON Patch. */
  patch?: string;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: AdmissionResponse;
}

/** The body is not an AdmissionReview v1 with a request: answered HTTP 400. */
export class ReviewError extends Error {
  readonly code = "ERR_WEBHOOK_REVIEW";
  constructor(message: string) {
    super(message);
    this.name = "ReviewError";
  }
}

export type ReviewOutcome = "injected" | "unchanged" | "skipped" | "denied";

export interface Reviewed {
  review: AdmissionReview;
  outcome: ReviewOutcome;
  /** The denial's error code, for logs and metrics. */
  code?: string;
}

export function parseReview(body: unknown): AdmissionRequest {
  const b = body as { apiVersion?: unknown; kind?: unknown; request?: { uid?: unknown } } | null;
  if (b === null || typeof b !== "object" || b.apiVersion !== "admission.k8s.io/v1" || b.kind !== "AdmissionReview") {
    throw new ReviewError("expected an AdmissionReview of admission.k8s.io/v1");
  }
  if (b.request === undefined || typeof b.request.uid !== "string" || b.request.uid === "") throw new ReviewError("the AdmissionReview has no request.uid");
  return b.request as AdmissionRequest;
}

export function review(request: AdmissionRequest, image: string): Reviewed {
  const answer = (response: Omit<AdmissionResponse, "uid">, outcome: ReviewOutcome, code?: string): Reviewed => ({
    review: { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: request.uid, ...response } },
    outcome,
    ...(code === undefined ? {} : { code }),
  });
  const isPod = (request.kind?.group ?? "") === "" && request.kind?.kind === "Pod";
  const object = request.object;
  if (!isPod || request.operation !== "CREATE" || object === null || typeof object !== "object" || typeof (object as { spec?: unknown }).spec !== "object") {
    return answer({ allowed: true }, "skipped");
  }
  const pod = object as PodLike;
  const name = pod.metadata?.name ?? request.name ?? "";
  const what = `Pod ${request.namespace ?? pod.metadata?.namespace ?? ""}/${name === "" ? `${pod.metadata?.generateName ?? ""}*` : name}`;
  try {
    const result = injectPod(pod, { image, what });
    if (result.kind === "unchanged") return answer({ allowed: true }, "unchanged");
    const patch = podPatch(pod, result.pod);
    return answer({ allowed: true, patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(patch)).toString("base64") }, "injected");
  } catch (err) {
    if (err instanceof InjectionError) {
      return answer({ allowed: false, status: { code: 400, reason: "BadRequest", message: `keyward sidecar injection: ${err.message}` } }, "denied", err.code);
    }
    throw err;
  }
}
