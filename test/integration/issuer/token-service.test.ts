// The token service against a real API server: the IssuedToken CRD, records
// written through the API before a token leaves, revocation by patching the
// record, client credentials minted by the reconciler, informer-backed caches.
// The ApiKeys' signing-key Secrets (in keyward's system namespace) and the tenant bundle are written here with the
// controller's own functions, so the test needs no running controller.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessPolicySpec, ApiKey, IssuedToken } from "../../../src/api/types.generated.ts";
import { API_VERSION } from "../../../src/api/types.generated.ts";
import { planBundle } from "../../../src/controller/bundle/index.ts";
import { EventRecorder } from "../../../src/controller/runtime/events.ts";
import { createCertificateAuthority, issueCertificate } from "../../../src/lib/pki.ts";
import { createIssuerInformers, createTokenServiceLogger, informerCache, kubeIssuedTokenStore, startTokenService, type IssuerInformers, type RunningTokenService } from "../../../src/issuer/index.ts";
import { KubeClient } from "../../../src/kube/client.ts";
import { Resources } from "../../../src/kube/resources.ts";
import type { CoreEvent } from "../../../src/kube/types.ts";
import { generateSigningKey, issueAccessTokenSync, type PrivateJwk } from "../../../src/token/index.ts";
import { basic, decoded, LogCapture, send, type Reply } from "../../issuer/support/fixture.ts";
import { ensureSystemNamespace, eventually, Kube, SYSTEM_NAMESPACE, useNamespace } from "../harness/index.ts";
import { bundleKeysOf, signingKeySecret, type SecretObject } from "../../../src/model/signing-key/secret.ts";
import type { SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import { bundleConfigMap } from "../../../src/model/bundle/configmap.ts";
import { bundleRecordConfigMap } from "../../../src/model/bundle/signing.ts";
import { deleteExpiredIssuedTokens } from "../../../src/controller/controllers/issuedtokens.ts";
import { issuedTokenObject, revocationsFromIssuedTokens } from "../../../src/model/issued-token.ts";
import { applyClientCredentials } from "../../../src/controller/controllers/clientcredentials.ts";

const ISSUER = "https://keyward.integration";
const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "issuer");
const client = new KubeClient({ kubeConfig: kube.kc, fieldManager: "keyward-token-service" });
const logs = new LogCapture();
const log = createTokenServiceLogger({ destination: logs });
const keys = new Map<string, PrivateJwk>();
const apiKeys = new Map<string, ApiKey>();
let informers: IssuerInformers;
let service: RunningTokenService;
let caPem: string;
let dir: string;

const POLICIES: Record<string, AccessPolicySpec> = {
  "token-issuer": { rules: [{ effect: "Allow", methods: ["POST"], paths: ["/api/v0/admin/api-keys/*/tokens"] }] },
  read: { rules: [{ effect: "Allow", methods: ["GET"], paths: ["/api/v0/**"] }] },
};

async function makeApiKey(name: string, policies: string[], annotations: Record<string, string> = {}): Promise<void> {
  const created = await client.create<ApiKey>(Resources.apiKeys, {
    apiVersion: API_VERSION,
    kind: "ApiKey",
    metadata: { name, namespace: ns.name, annotations },
    spec: { policies },
  });
  const ready = await client.mergePatchStatus<ApiKey>(Resources.apiKeys, { namespace: ns.name, name }, {
    status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-11-01T00:00:00Z", reason: "KeysReady", message: "integration" }] },
  });
  const key = await generateSigningKey("EdDSA");
  const document: SigningKeyDocument = {
    version: 1,
    keys: [{ jwk: key, state: "active", createdAt: "2026-11-01T00:00:00Z", activatesAt: "2026-11-01T00:00:00Z", notAfter: null }],
    lastRotationTime: "2026-11-01T00:00:00Z",
    observedRequests: {},
    revokedBefore: null,
  };
  await client.create(Resources.secrets, signingKeySecret(SYSTEM_NAMESPACE, { namespace: ns.name, name, uid: created.metadata.uid ?? "" }, document));
  keys.set(name, key);
  apiKeys.set(name, ready);
}

async function publishBundle(): Promise<void> {
  const plan = planBundle({
    tenant: ns.name,
    issuer: ISSUER,
    now: new Date(),
    apiKeys: [...apiKeys.values()].map((k) => {
      const name = k.metadata.name ?? "";
      const jwk = keys.get(name)!;
      return {
        name,
        uid: k.metadata.uid ?? "",
        deleting: false,
        suspended: false,
        policies: k.spec?.policies ?? [],
        revokedBefore: null,
        allowNonExpiring: false,
        keys: bundleKeysOf({ version: 1, keys: [{ jwk, state: "active", createdAt: "2026-11-01T00:00:00Z", activatesAt: "2026-11-01T00:00:00Z", notAfter: null }], lastRotationTime: "2026-11-01T00:00:00Z", observedRequests: {}, revokedBefore: null }, name),
      };
    }),
    accessPolicies: Object.entries(POLICIES).map(([name, spec]) => ({ name, spec })),
    revocations: [],
    current: null,
    record: null,
    trust: null,
  });
  if (!plan.ok) throw new Error(plan.message);
  // What the controller does: its record in keyward's own namespace (what the token service reads), then the tenant's copy.
  await client.create(Resources.configMaps, bundleRecordConfigMap(SYSTEM_NAMESPACE, ns.name, plan.data["bundle.json"]));
  await client.create(Resources.configMaps, bundleConfigMap(ns.name, plan.data, plan.bundle.generation));
}

function request(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return send(service.address.port, caPem, path, opts);
}

/** The message of the error a write is refused with; "" when it succeeds. */
function refused(write: Promise<unknown>): Promise<string> {
  return write.then(() => "", (err: unknown) => (err instanceof Error ? err.message : String(err)));
}

beforeAll(async () => {
  await ensureSystemNamespace(kube);
  for (const [name, spec] of Object.entries(POLICIES)) {
    await client.create(Resources.accessPolicies, { apiVersion: API_VERSION, kind: "AccessPolicy", metadata: { name, namespace: ns.name }, spec });
  }
  await makeApiKey("workflow", ["token-issuer"]);
  await makeApiKey("reporting", ["read"]);
  await makeApiKey("ingest", ["read"], { "keyward.dev/client-credentials": "enabled" });
  await publishBundle();

  informers = createIssuerInformers(client, SYSTEM_NAMESPACE, { resyncPeriodMs: 0 });
  for (const i of Object.values(informers) as { start(): void }[]) i.start();
  const cache = informerCache(informers, SYSTEM_NAMESPACE);
  await eventually("the token service's caches to sync", () => Promise.resolve(cache.synced()), { timeoutMs: 30_000, intervalMs: 50 });

  dir = await mkdtemp(join(tmpdir(), "keyward-issuer-it-"));
  const ca = createCertificateAuthority({ commonName: "keyward integration CA" });
  caPem = ca.certPem;
  const leaf = issueCertificate(ca, { subject: { commonName: "keyward-token-service" }, hosts: ["127.0.0.1"], usage: "server" });
  await writeFile(join(dir, "tls.crt"), leaf.certPem);
  await writeFile(join(dir, "tls.key"), leaf.keyPem);
  service = await startTokenService({
    listen: { host: "127.0.0.1", port: 0 },
    tls: { certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key"), pollIntervalMs: 0 },
    issuer: ISSUER,
    cache,
    systemNamespace: SYSTEM_NAMESPACE,
    store: kubeIssuedTokenStore(client),
    events: new EventRecorder({ client, component: "keyward-token-service" }),
    logger: log,
  });
});

afterAll(async () => {
  await service.close();
  await Promise.all((Object.values(informers) as { stop(): Promise<void> }[]).map((i) => i.stop()));
  await rm(dir, { recursive: true, force: true });
});

describe("the token service on a real API server", () => {
  let jti = "";

  it("issues a token with an issuer token, after recording an IssuedToken owned by the target ApiKey", async () => {
    const caller = issueAccessTokenSync({ key: keys.get("workflow")!, issuer: ISSUER, apiKey: "workflow", tenant: ns.name, now: new Date(Date.now() - 1000), lifetimeSeconds: 600 }).token;
    const r = await request("/api/v0/admin/api-keys/reporting/tokens", {
      method: "POST",
      headers: { authorization: `Bearer ${caller}`, "x-keyward-tenant": ns.name, "content-type": "application/json" },
      body: JSON.stringify({ "expires-at": new Date(Date.now() + 2 * 3600_000).toISOString() }),
    });
    expect(r.status, r.body).toBe(201);
    jti = r.json.jti as string;
    expect(decoded(r.json.access_token as string).claims).toMatchObject({ sub: "reporting", aud: ns.name, iss: `${ISSUER}/${ns.name}`, jti });

    const records = await client.list<IssuedToken>(Resources.issuedTokens, { namespace: ns.name, labelSelector: "keyward.dev/api-key=reporting" });
    expect(records.items).toHaveLength(1);
    const record = records.items[0]!;
    expect(record.spec).toMatchObject({ apiKeyName: "reporting", jti, issuedBy: "ApiKey " + ns.name + "/workflow", revoked: false });
    expect(record.metadata.ownerReferences?.[0]).toMatchObject({ kind: "ApiKey", name: "reporting", uid: apiKeys.get("reporting")?.metadata.uid });
    const table = await kube.table({ apiVersion: API_VERSION, kind: "IssuedToken", namespace: ns.name, name: record.metadata.name ?? "" });
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(["Name", "ApiKey", "Issued By", "Expires", "Revoked", "Age"]);

    await eventually("a TokenIssued Event on the ApiKey", async () => {
      const events = await client.list<CoreEvent>(Resources.events, { namespace: ns.name, fieldSelector: "involvedObject.name=reporting" });
      return events.items.some((e) => e.reason === "TokenIssued" && (e.message ?? "").includes(jti));
    }, { timeoutMs: 10_000, intervalMs: 100 });
    expect(logs.text()).not.toContain(r.json.access_token as string);
  });

  it("revokes by patching spec.revoked, refuses to take it back, and lists the jti for the bundle", async () => {
    const name = (await client.list<IssuedToken>(Resources.issuedTokens, { namespace: ns.name, labelSelector: "keyward.dev/api-key=reporting" })).items[0]?.metadata.name ?? "";
    await client.mergePatch(Resources.issuedTokens, { namespace: ns.name, name }, { spec: { revoked: true } });
    const back = await refused(client.mergePatch(Resources.issuedTokens, { namespace: ns.name, name }, { spec: { revoked: false } }));
    expect(back).toContain("spec.revoked cannot be set back to false");
    const changed = await refused(client.mergePatch(Resources.issuedTokens, { namespace: ns.name, name }, { spec: { jti: "other" } }));
    expect(changed).toContain("spec.jti cannot be changed");
    const list = await client.list<IssuedToken>(Resources.issuedTokens, { namespace: ns.name });
    expect(revocationsFromIssuedTokens(list.items, new Date())).toEqual([expect.objectContaining({ jti, apiKey: "reporting" })]);
  });

  it("mints client credentials for the ApiKey that opts in, and issues to the client with them", async () => {
    const ingest = apiKeys.get("ingest")!;
    const plan = await applyClientCredentials(client, informerCache(informers, SYSTEM_NAMESPACE).secrets, ingest, log);
    expect(plan.minted).toBe(true);
    const creds = await client.get<SecretObject>(Resources.secrets, { namespace: ns.name, name: "ingest-client-credentials" });
    const secret = Buffer.from(creds.data?.client_secret ?? "", "base64").toString("utf8");
    const clientId = Buffer.from(creds.data?.client_id ?? "", "base64").toString("utf8");
    expect(clientId).toBe(`${ns.name}/ingest`);
    await eventually("the hash Secret in the cache", () => Promise.resolve(informers.secrets.getByName("ingest-client-credentials-hash", ns.name) !== undefined), { timeoutMs: 10_000, intervalMs: 50 });
    await eventually("the client Secret in the cache", () => Promise.resolve(informers.secrets.getByName("ingest-client-credentials", ns.name) !== undefined), { timeoutMs: 10_000, intervalMs: 50 });
    expect((await applyClientCredentials(client, informerCache(informers, SYSTEM_NAMESPACE).secrets, ingest, log)).actions).toEqual([]);

    const r = await request("/oauth2/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic(clientId, secret) },
      body: "grant_type=client_credentials",
    });
    expect(r.status, r.body).toBe(200);
    expect(decoded(r.json.access_token as string).claims).toMatchObject({ sub: "ingest", aud: ns.name });
    const records = await client.list<IssuedToken>(Resources.issuedTokens, { namespace: ns.name, labelSelector: "keyward.dev/api-key=ingest" });
    expect(records.items.map((x) => x.spec.issuedBy)).toEqual([`oauth2-client ${ns.name}/ingest`]);
    expect(logs.text()).not.toContain(secret);
  });

  it("deletes the records of expired tokens, and only those", async () => {
    const reporting = apiKeys.get("reporting")!;
    const nowS = Math.floor(Date.now() / 1000);
    const old = issuedTokenObject({ apiKey: reporting, jti: "ZXhwaXJlZC10b2tlbg", kid: keys.get("reporting")!.kid, issuedAt: nowS - 7200, expiresAt: nowS - 3600, issuedBy: "ApiKey x/y" });
    await client.create(Resources.issuedTokens, old);
    const before = (await client.list<IssuedToken>(Resources.issuedTokens, { namespace: ns.name })).items;
    expect(before.map((r) => r.metadata.name)).toContain(old.metadata.name);
    const next = await deleteExpiredIssuedTokens(client, before, new Date());
    const after = (await client.list<IssuedToken>(Resources.issuedTokens, { namespace: ns.name })).items.map((r) => r.metadata.name);
    expect(after).not.toContain(old.metadata.name);
    expect(after).toHaveLength(before.length - 1);
    expect(next).not.toBeNull();
  });

  it("deletes the client-credentials Secrets when the annotation is removed", async () => {
    const ingest = await client.mergePatch<ApiKey>(Resources.apiKeys, { namespace: ns.name, name: "ingest" }, { metadata: { annotations: { "keyward.dev/client-credentials": null } } });
    const plan = await applyClientCredentials(client, informerCache(informers, SYSTEM_NAMESPACE).secrets, ingest, log);
    expect(plan.actions.map((a) => a.verb)).toEqual(["delete", "delete"]);
    expect(await client.find(Resources.secrets, { namespace: ns.name, name: "ingest-client-credentials" })).toBeUndefined();
    expect(await client.find(Resources.secrets, { namespace: ns.name, name: "ingest-client-credentials-hash" })).toBeUndefined();
  });
});
