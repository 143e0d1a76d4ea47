// Revocations past what one bundle ConfigMap holds, end to end on a real API server:
// the controller (in-process, under config/rbac) runs with a small bundle limit and
// seal threshold, so that a few dozen revocations are past "the old limit" (where it
// used to stop writing the bundle with BundleTooLarge). Every revocation still
// reaches the verifier (under config/verifier's Role): the head names revocation
// segments the verifier reads by name, and a segment an editor changes or deletes
// is written again by the controller.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseVerifierArgs, startVerifier, type RunningVerifier } from "../../../src/verifier/index.ts";
import { assembleBundle, type Bundle } from "../../../src/token/index.ts";
import {
  accessTokenRef,
  accessTokenWhen,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  eventsOf,
  isTrue,
  grantTrustRead,
  readBundle,
  runController,
  settled,
  systemNamespaceFor,
  trustConfigMapFor,
  type TestController,
} from "./support.ts";
import { verifierIdentity } from "../verifier/support.ts";
import { eventually, keywardObject, Kube, type KubeObject, useNamespace } from "../harness/index.ts";
import { bearer, send, startUpstream, type Reply, type Upstream } from "../../verifier/support/http.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "verifier-segments");
const API_KEY = "reporting";
const PATH = "/api/v0/reports";
const PROPAGATION_DEADLINE_MS = 20_000;
/** A bundle.json + jwks.json limit that one key and ~30 revocations exceed. */
const SIZE_LIMIT = 3000;
/** Revocations bundle.json holds before they move into a segment. */
const SEAL_AT = 10;
const TOKENS = 45;

let ctl: TestController;
let upstream: Upstream;
let verifier: RunningVerifier;
const tokens = new Map<string, string>();

type ConfigMap = KubeObject & { data?: Record<string, string> };

async function createAccessTokens(names: readonly string[]): Promise<void> {
  for (const name of names) {
    await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "AccessToken", metadata: { name, namespace: ns.name }, spec: { apiKeyName: API_KEY, lifetime: "2h" } });
  }
  for (const name of names) {
    await accessTokenWhen(kube, ns.name, name, (t) => isTrue(condition(t, "Ready")), "Ready");
    tokens.set(name, await currentToken(kube, ns.name, name));
  }
}

function request(name: string): Promise<Reply> {
  return send(verifier.address.port, { path: PATH, headers: bearer(tokens.get(name) ?? "") });
}

async function refused(name: string): Promise<Reply> {
  return eventually(`the verifier to refuse the token of AccessToken ${name}`, async () => {
    const reply = await request(name);
    return reply.status === 401 ? reply : undefined;
  }, { timeoutMs: PROPAGATION_DEADLINE_MS, intervalMs: 25 });
}

async function slot(name: string): Promise<ConfigMap | undefined> {
  return kube.find<ConfigMap>({ apiVersion: "v1", kind: "ConfigMap", namespace: ns.name, name });
}

/** The tenant's bundle with every segment it names, read as a verifier reads them. */
async function published(): Promise<{ head: Bundle; whole: Bundle }> {
  const head = await readBundle(kube, ns.name);
  if (head === undefined) throw new Error("no bundle");
  const texts = new Map<string, string>();
  for (const ref of head.revokedSegments ?? []) {
    const text = (await slot(ref.name))?.data?.["revoked.json"];
    if (text !== undefined) texts.set(ref.name, text);
  }
  return { head, whole: assembleBundle(head, (name) => texts.get(name)) };
}

beforeAll(async () => {
  const identity = await controllerIdentity(kube, ns.name);
  await kube.create(keywardObject("AccessPolicy", ns.name, "reports-read", { rules: [{ methods: ["GET"], paths: ["/api/v0/**"] }] }));
  ctl = await runController(identity, ns.name, { bundleSizeLimit: SIZE_LIMIT, bundleSealAt: SEAL_AT });
  await grantTrustRead(kube, await systemNamespaceFor(ns.name));
  await kube.create(keywardObject("ApiKey", ns.name, API_KEY, { policies: ["reports-read"] }));
  await apiKeyWhen(kube, ns.name, API_KEY, (k) => isTrue(condition(k, "Ready")) && isTrue(condition(k, "Published")), "Ready and Published");
  await createAccessTokens([...Array.from({ length: TOKENS }, (_, i) => `t-${i}`), "last", "kept"]);

  upstream = await startUpstream();
  const config = parseVerifierArgs(
    [
      "--mode", "proxy", "--listen", "127.0.0.1:0", "--upstream", upstream.url, "--metrics-listen", "off", "--tenant", ns.name,
      "--bundle-configmap", `${ns.name}/keyward-bundle`, "--bundle-trust-configmap", trustConfigMapFor(ns.name), "--drain-timeout", "2s",
    ],
    {},
  );
  verifier = await startVerifier(config, { kubeConfig: await verifierIdentity(kube, ns.name) });
  await eventually("the verifier to load the tenant bundle", () => Promise.resolve(verifier.store.generation() !== null), { timeoutMs: PROPAGATION_DEADLINE_MS, intervalMs: 50 });
});

afterAll(async () => {
  await verifier.drain(100);
  await upstream.close();
  await ctl.running.stop();
});

describe("revocations past the limit of one bundle ConfigMap", () => {
  it("keeps publishing the bundle and every revocation once they no longer fit in bundle.json", async () => {
    for (let i = 0; i < TOKENS; i++) await kube.mergePatch(accessTokenRef(ns.name, `t-${i}`), { spec: { revoked: true } });
    await refused(`t-${TOKENS - 1}`);
    await settled(ctl.running);
    const { head, whole } = await published();
    expect(head.revokedSegments?.length).toBeGreaterThan(0);
    expect(head.revoked.length).toBeLessThan(SEAL_AT);
    const jtis = new Set(whole.revoked.map((r) => r.jti));
    for (let i = 0; i < TOKENS; i++) {
      const t = await accessTokenWhen(kube, ns.name, `t-${i}`, (x) => x.status?.jti !== undefined, "a jti");
      expect(jtis.has(t.status?.jti ?? "")).toBe(true);
    }
    // Were they all in bundle.json, it would be over the limit.
    expect(JSON.stringify(whole).length).toBeGreaterThan(SIZE_LIMIT);
    const apiKey = await apiKeyWhen(kube, ns.name, API_KEY, () => true, "read");
    expect(condition(apiKey, "Published")?.status).toBe("True");
    expect((await eventsOf(kube, ns.name)).map((e) => e.reason)).not.toContain("BundleTooLarge");
  });

  it("refuses every revoked token at the verifier, and lets the others through", async () => {
    for (let i = 0; i < TOKENS; i++) {
      const reply = await request(`t-${i}`);
      expect([i, reply.status, (JSON.parse(reply.body) as { code?: string }).code]).toEqual([i, 401, "ERR_TOKEN_REVOKED"]);
    }
    expect((await request("kept")).status).toBe(200);
  });

  it("gets one more revocation to the verifier past the old limit", async () => {
    expect((await request("last")).status).toBe(200);
    await kube.mergePatch(accessTokenRef(ns.name, "last"), { spec: { revoked: true } });
    const reply = await refused("last");
    expect((JSON.parse(reply.body) as { code?: string }).code).toBe("ERR_TOKEN_REVOKED");
    expect((await request("kept")).status).toBe(200);
  });

  it("writes again a segment deleted or changed by someone else, with the bytes the bundle names", async () => {
    await settled(ctl.running);
    const { head } = await published();
    const ref = head.revokedSegments?.[0];
    if (ref === undefined) throw new Error("no segment");
    await kube.delete({ apiVersion: "v1", kind: "ConfigMap", namespace: ns.name, name: ref.name });
    await eventually(`ConfigMap ${ref.name} to be written again`, async () => ((await slot(ref.name))?.data?.["revoked.json"] === undefined ? undefined : true));
    const cm = await slot(ref.name);
    await kube.replace({ ...cm, data: { "revoked.json": '{"apiVersion":"keyward.dev/bundle-segment/v1","tenant":"x","revoked":{}}' } } as ConfigMap);
    await eventually(`ConfigMap ${ref.name} to hold the segment the bundle names again`, async () => {
      const { whole } = await published().catch(() => ({ whole: null }));
      return whole === null ? undefined : whole;
    });
    const again = await published();
    expect(again.head.revokedSegments).toEqual(head.revokedSegments);
    for (let i = 0; i < TOKENS; i++) expect((await request(`t-${i}`)).status).toBe(401);
  });
});
