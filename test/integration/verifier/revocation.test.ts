// Revocation end to end on a real API server: the controller (in-process, under the RBAC of
// config/rbac) writes the tenant bundle; the verifier (proxy mode, in front of a workload)
// watches that bundle ConfigMap through the API as a ServiceAccount bound to the Role of
// config/verifier, which may only get, list and watch it. Revoking an AccessToken, or
// deleting it, makes the verifier refuse its token; the other tokens of the ApiKey still pass.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseVerifierArgs, startVerifier, type RunningVerifier } from "../../../src/verifier/index.ts";
import {
  accessTokenRef,
  accessTokenWhen,
  apiKeyWhen,
  condition,
  controllerIdentity,
  currentToken,
  isTrue,
  grantTrustRead,
  runController,
  systemNamespaceFor,
  trustConfigMapFor,
  type TestController,
} from "../controller/support.ts";
import { verifierIdentity } from "./support.ts";
import { eventually, keywardObject, Kube, useNamespace } from "../harness/index.ts";
import { bearer, LogCapture, send, startUpstream, type Reply, type Upstream } from "../../verifier/support/http.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "verifier-revocation");
const API_KEY = "reporting";
const PATH = "/api/v0/reports";
/** How long a change may take to go from the API server through the controller to the verifier. */
const PROPAGATION_DEADLINE_MS = 15_000;

let ctl: TestController;
let upstream: Upstream;
let verifier: RunningVerifier;
const verifierLogs = new LogCapture();
const tokens = new Map<string, string>();

async function createAccessToken(name: string): Promise<void> {
  await kube.create({
    apiVersion: "keyward.dev/v1alpha1",
    kind: "AccessToken",
    metadata: { name, namespace: ns.name },
    spec: { apiKeyName: API_KEY, lifetime: "2h" },
  });
  await accessTokenWhen(kube, ns.name, name, (t) => isTrue(condition(t, "Ready")), "Ready");
  tokens.set(name, await currentToken(kube, ns.name, name));
}

function tokenOf(name: string): string {
  const token = tokens.get(name);
  if (token === undefined) throw new Error(`no token was read for AccessToken ${name}`);
  return token;
}

function request(name: string): Promise<Reply> {
  return send(verifier.address.port, { path: PATH, headers: bearer(tokenOf(name)) });
}

function codeOf(reply: Reply): string | undefined {
  if (reply.status === 200) return undefined;
  return (JSON.parse(reply.body) as { code?: string }).code;
}

/** Polls the verifier with the AccessToken's token until it answers 401; returns that answer. */
async function refused(name: string): Promise<Reply> {
  return eventually(
    `the verifier to refuse the token of AccessToken ${name}`,
    async () => {
      const reply = await request(name);
      return reply.status === 401 ? reply : undefined;
    },
    { timeoutMs: PROPAGATION_DEADLINE_MS, intervalMs: 20 },
  );
}

beforeAll(async () => {
  const identity = await controllerIdentity(kube, ns.name);
  await kube.create(keywardObject("AccessPolicy", ns.name, "reports-read", { rules: [{ methods: ["GET"], paths: ["/api/v0/**"] }] }));
  ctl = await runController(identity, ns.name);
  await grantTrustRead(kube, await systemNamespaceFor(ns.name));
  await kube.create(keywardObject("ApiKey", ns.name, API_KEY, { policies: ["reports-read"] }));
  await apiKeyWhen(kube, ns.name, API_KEY, (k) => isTrue(condition(k, "Ready")) && isTrue(condition(k, "Published")), "Ready and Published");
  for (const name of ["revoked-by-spec", "kept", "deleted"]) await createAccessToken(name);

  upstream = await startUpstream();
  const config = parseVerifierArgs(
    [
      "--mode", "proxy",
      "--listen", "127.0.0.1:0",
      "--upstream", upstream.url,
      "--metrics-listen", "off",
      "--tenant", ns.name,
      "--bundle-configmap", `${ns.name}/keyward-bundle`,
      "--bundle-trust-configmap", trustConfigMapFor(ns.name),
      "--decision-log-sample", "1",
      "--drain-timeout", "2s",
    ],
    {},
  );
  verifier = await startVerifier(config, { kubeConfig: await verifierIdentity(kube, ns.name), logDestination: verifierLogs });
  await eventually("the verifier to load the tenant bundle", () => Promise.resolve(verifier.store.generation() !== null), { timeoutMs: PROPAGATION_DEADLINE_MS, intervalMs: 50 });
});

afterAll(async () => {
  await verifier.drain(100);
  await upstream.close();
  await ctl.running.stop();
});

describe("revocation reaches the verifier watching the bundle ConfigMap", () => {
  it("passes a request with an AccessToken's token to the workload, with the identity it authenticated", async () => {
    const reply = await request("revoked-by-spec");
    expect(reply.status).toBe(200);
    const seen = upstream.seen.at(-1);
    expect(seen?.url).toBe(PATH);
    expect(seen?.headers["x-keyward-api-key"]).toBe(API_KEY);
    expect(seen?.headers["x-keyward-tenant"]).toBe(ns.name);
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it("answers 401 ERR_TOKEN_REVOKED once the AccessToken's spec.revoked is set", async () => {
    expect((await request("revoked-by-spec")).status).toBe(200);
    const generation = verifier.store.generation() ?? 0;
    const jti = (await accessTokenWhen(kube, ns.name, "revoked-by-spec", (t) => t.status?.jti !== undefined, "a jti in status")).status?.jti;

    await kube.mergePatch(accessTokenRef(ns.name, "revoked-by-spec"), { spec: { revoked: true } });
    const reply = await refused("revoked-by-spec");

    expect(codeOf(reply)).toBe("ERR_TOKEN_REVOKED");
    expect(reply.headers["www-authenticate"]).toMatch(/^Bearer .*error="invalid_token"/);
    expect(verifier.store.generation()).toBeGreaterThan(generation);
    const denial = verifierLogs.events("decision").find((r) => r.code === "ERR_TOKEN_REVOKED");
    expect(denial).toMatchObject({ decision: "deny", apiKey: API_KEY, jti });
    expect(verifierLogs.text).not.toContain(tokenOf("revoked-by-spec"));
  });

  it("keeps letting through another AccessToken of the same ApiKey after one was revoked", async () => {
    await accessTokenWhen(kube, ns.name, "revoked-by-spec", (t) => isTrue(condition(t, "Revoked")), "Revoked");
    const reply = await request("kept");
    expect(reply.status).toBe(200);
    expect(codeOf(await request("revoked-by-spec"))).toBe("ERR_TOKEN_REVOKED");
  });

  it("answers 401 ERR_TOKEN_REVOKED for the token of an AccessToken that was deleted", async () => {
    expect((await request("deleted")).status).toBe(200);

    await kube.delete(accessTokenRef(ns.name, "deleted"));
    const reply = await refused("deleted");

    expect(codeOf(reply)).toBe("ERR_TOKEN_REVOKED");
    await eventually("AccessToken deleted to be gone", async () => (await kube.find(accessTokenRef(ns.name, "deleted"))) === undefined);
    expect((await request("kept")).status).toBe(200);
    expect(verifierLogs.events("bundle_source_error")).toEqual([]);
  });
});
