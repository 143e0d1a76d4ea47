import { describe, expect, it } from "vitest";
import { parseReview, review, ReviewError, type AdmissionRequest } from "../../src/webhook/index.ts";
import { appPod, IMAGE } from "../injector/fixtures.ts";

function podRequest(object: unknown, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return { uid: "u-1", kind: { group: "", version: "v1", kind: "Pod" }, operation: "CREATE", namespace: "acme", object, ...extra };
}

function decodedPatch(patch: string | undefined): { op: string; path: string }[] {
  return JSON.parse(Buffer.from(patch ?? "", "base64").toString("utf8")) as { op: string; path: string }[];
}

describe("an admission review", () => {
  it("answers an opted-in Pod with a JSON Patch that adds the sidecar, for the request's uid", () => {
    const out = review(podRequest(appPod()), IMAGE);
    expect(out.outcome).toBe("injected");
    expect(out.review).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "u-1", allowed: true, patchType: "JSONPatch" } });
    expect(decodedPatch(out.review.response.patch).map((o) => o.path)).toContain("/spec/initContainers");
  });

  it("gives a dry-run request the same answer", () => {
    expect(review(podRequest(appPod(), { dryRun: true }), IMAGE).review).toEqual(review(podRequest(appPod()), IMAGE).review);
  });

  it("allows a Pod that already has the sidecar without a patch", () => {
    const pod = appPod();
    pod.spec.initContainers = [{ name: "keyward-verifier" }];
    const out = review(podRequest(pod), IMAGE);
    expect(out.outcome).toBe("unchanged");
    expect(out.review.response).toEqual({ uid: "u-1", allowed: true });
  });

  it("allows anything but a Pod CREATE untouched", () => {
    expect(review(podRequest(appPod(), { operation: "UPDATE" }), IMAGE).review.response).toEqual({ uid: "u-1", allowed: true });
    expect(review(podRequest(appPod(), { kind: { group: "apps", version: "v1", kind: "Deployment" } }), IMAGE).outcome).toBe("skipped");
  });

  it("denies a bad annotation with a message naming the Pod, the annotation and the fix", () => {
    const out = review(podRequest(appPod({ "keyward.dev/upstream-port": "eighty" })), IMAGE);
    expect(out.outcome).toBe("denied");
    expect(out.code).toBe("ERR_INJECT_ANNOTATION");
    expect(out.review.response.allowed).toBe(false);
    expect(out.review.response.status).toEqual({
      code: 400,
      reason: "BadRequest",
      message: 'keyward sidecar injection: Pod acme/web-*: annotation keyward.dev/upstream-port: "eighty" is not a port number from 1 to 65535; fix the annotation or remove it for the default',
    });
  });

  it("refuses a body that is not an AdmissionReview v1 with a request uid", () => {
    expect(() => parseReview({ apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview", request: { uid: "x" } })).toThrow(ReviewError);
    expect(() => parseReview({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" })).toThrow(/request.uid/);
    expect(parseReview({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "x" } }).uid).toBe("x");
  });
});
