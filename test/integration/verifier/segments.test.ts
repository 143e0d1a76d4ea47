// Revocation segments on a real API server: a signed head (keyward-bundle) naming two
// segment ConfigMaps (keyward-bundle-revoked-1 and -2) written here by hand, read by the
// verifier as the ServiceAccount bound to the Role of config/verifier, which may get the
// segment slots and nothing else of them. A token revoked only in a segment is refused; a
// segment edited by hand before a head names it keeps the previous generation in force until
// it matches; one edited while in use changes nothing (the verifier holds the bytes named).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicJwkOf } from "../../../src/token/index.ts";
import { parseVerifierArgs, startVerifier, type RunningVerifier } from "../../../src/verifier/index.ts";
import { grantTrustRead, systemNamespaceFor, trustConfigMapFor } from "../controller/support.ts";
import { eventually, Kube, useNamespace } from "../harness/index.ts";
import { makeFixture, revocationSegment, type Fixture } from "../../verifier/support/fixture.ts";
import { bearer, LogCapture, send, signForTest, testBundleSigner } from "../../verifier/support/http.ts";
import { verifierIdentity } from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "verifier-segments");
const WAIT = { timeoutMs: 15_000, intervalMs: 50 };
const IN_SEGMENT_1 = "aW4tc2VnbWVudC1vbmU";
const IN_SEGMENT_2 = "aW4tc2VnbWVudC10d28";
const IN_SEGMENT_3 = "aW4tc2VnbWVudC10aHJlZQ";
const IN_HEAD = "aW4tdGhlLWhlYWQ";

let fx: Fixture;
let verifier: RunningVerifier | null = null;
const logs = new LogCapture();

type Segment = ReturnType<typeof revocationSegment>;
let one: Segment;
let two: Segment;

function configMap(name: string, data: Record<string, string>): { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; data: Record<string, string> } {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: ns.name }, data };
}

/** The head of `generation` naming `segments`, signed now by the trusted test key. */
async function head(generation: number, segments: Segment[], revoked: string[] = []): Promise<ReturnType<typeof configMap>> {
  const text = fx.bundleText({ tenant: ns.name, generation, revokedSegments: segments.map((s) => s.ref), revoked: revoked.map((jti) => ({ jti, apiKey: "reporting", exp: null })) });
  return configMap("keyward-bundle", { "bundle.json": text, "jwks.json": '{"keys":[]}', "bundle.jws": await signForTest(text, Date.now()) });
}

async function status(jti: string): Promise<{ status: number; code: string | undefined }> {
  const token = await fx.token({ tenant: ns.name, atMs: Date.now() - 1000, jti });
  const r = await send(verifier!.address.port, { path: "/api/v0/items", headers: bearer(token) });
  return { status: r.status, code: r.status === 200 ? undefined : (JSON.parse(r.body) as { code?: string }).code };
}

async function failures(reason: string): Promise<number> {
  return (await verifier!.metrics.reloadFailures.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

beforeAll(async () => {
  fx = await makeFixture();
  one = revocationSegment(1, [IN_SEGMENT_1], ns.name);
  two = revocationSegment(2, [IN_SEGMENT_2], ns.name);
  const system = await systemNamespaceFor(ns.name);
  await grantTrustRead(kube, system);
  await kube.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle-trust", namespace: system }, data: { "jwks.json": JSON.stringify({ keys: [publicJwkOf((await testBundleSigner()).jwk)] }) } });
  for (const s of [one, two]) await kube.create(configMap(s.name, { "revoked.json": s.text }));
  await kube.create(await head(1, [one, two]));
  const config = parseVerifierArgs(
    ["--mode", "authz", "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--tenant", ns.name, "--bundle-configmap", `${ns.name}/keyward-bundle`, "--bundle-trust-configmap", trustConfigMapFor(ns.name)],
    {},
  );
  verifier = await startVerifier(config, { kubeConfig: await verifierIdentity(kube, ns.name), logDestination: logs });
  await eventually("generation 1 with its segments to load", () => Promise.resolve(verifier!.store.generation() === 1), WAIT);
});

afterAll(async () => {
  await verifier?.drain(100);
});

describe("a verifier enforcing a head and its revocation segments", () => {
  it("refuses a token revoked only in a segment with 401 ERR_TOKEN_REVOKED, and accepts a valid one", async () => {
    expect(await status(IN_SEGMENT_1)).toEqual({ status: 401, code: "ERR_TOKEN_REVOKED" });
    expect(await status(IN_SEGMENT_2)).toEqual({ status: 401, code: "ERR_TOKEN_REVOKED" });
    expect(await status("c3RpbGwtdmFsaWQ")).toEqual({ status: 200, code: undefined });
    const scraped = await verifier!.metrics.registry.metrics();
    expect(scraped).toContain("keyward_verifier_bundle_revocations 2");
    expect(scraped).toContain("keyward_verifier_bundle_segments 2");
  });

  it("keeps the previous generation when a segment the next head names was edited by hand, reports it, and takes that head once the segment matches", async () => {
    const three = revocationSegment(3, [IN_SEGMENT_3], ns.name);
    const edited = revocationSegment(3, [IN_SEGMENT_3, "ZWRpdGVkLWluLWJ5LWhhbmQ"], ns.name);
    await kube.create(configMap(three.name, { "revoked.json": edited.text }));
    await kube.replace(await head(2, [one, two, three], [IN_HEAD]));
    await eventually("the edited segment to be reported", async () => (await failures("ERR_BUNDLE_SEGMENT_DIGEST")) === 1, WAIT);
    expect(verifier!.store.generation()).toBe(1);
    const refused = logs.events("bundle_refused").find((l) => l.reason === "ERR_BUNDLE_SEGMENT_DIGEST")!;
    expect(refused.msg).toContain(`ConfigMap ${ns.name}/keyward-bundle-revoked-3`);
    expect(refused.msg).toContain("keeping generation 1");
    // Generation 1 is still enforced whole.
    expect(await status(IN_SEGMENT_1)).toEqual({ status: 401, code: "ERR_TOKEN_REVOKED" });
    expect(await status(IN_HEAD)).toEqual({ status: 200, code: undefined });

    // The segment's bytes put back, as the controller writes them: the verifier reads it again and takes generation 2.
    await kube.replace(configMap(three.name, { "revoked.json": three.text }));
    await eventually("generation 2 to load", () => Promise.resolve(verifier!.store.generation() === 2), WAIT);
    expect(await status(IN_HEAD)).toEqual({ status: 401, code: "ERR_TOKEN_REVOKED" });
    expect(await status(IN_SEGMENT_3)).toEqual({ status: 401, code: "ERR_TOKEN_REVOKED" });
    expect(logs.events("bundle_source_error")).toEqual([]);
  });

  it("keeps enforcing the bytes it holds for a segment in use edited by hand, and takes the next head that keeps naming them", async () => {
    await kube.replace(configMap(one.name, { "revoked.json": revocationSegment(1, ["ZWRpdGVkLWluLXVzZQ"], ns.name).text }));
    const four = revocationSegment(4, ["bmV3LWluLXNsb3QtNA"], ns.name);
    await kube.create(configMap(four.name, { "revoked.json": four.text }));
    await kube.replace(await head(3, [one, four], [IN_HEAD]));
    await eventually("generation 3 to load", () => Promise.resolve(verifier!.store.generation() === 3), WAIT);
    expect(await status("bmV3LWluLXNsb3QtNA")).toEqual({ status: 401, code: "ERR_TOKEN_REVOKED" });
    expect(await status(IN_SEGMENT_1)).toEqual({ status: 401, code: "ERR_TOKEN_REVOKED" });
    expect(await status(IN_SEGMENT_2)).toEqual({ status: 200, code: undefined });
  });
});
