// A token service on 127.0.0.1 with a real TLS certificate from a test CA, over
// an in-memory cache of tenants built with the controller's own functions
// (signing-key Secrets, planBundle), an in-memory IssuedToken store, recorded
// Events and captured logs.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessPolicySpec, ApiKey, ClusterRotationPolicy, IssuedToken, RotationPolicy } from "../../../src/api/types.generated.ts";
import { API_VERSION } from "../../../src/api/types.generated.ts";
import { bundleConfigMap, bundleKeysOf, planBundleFor, type ConfigMapObject } from "./bundle.ts";
import { bundleRecordConfigMap } from "../../../src/model/bundle/signing.ts";
import { createCertificateAuthority, issueCertificate, type CertificateAuthority } from "../../../src/lib/pki.ts";
import { createTokenServiceLogger, startTokenService, type AuditEvents, type IssuedTokenStore, type IssuerCache, type ObjectLookup, type RunningTokenService, type TokenServiceOptions } from "../../../src/issuer/index.ts";
import { ManualClock } from "../../../src/kube/clock.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { decodeUnverified, generateSigningKey, tenantIssuer, issueAccessTokenSync, type PrivateJwk, type RevokedEntry, type TokenClaims, type TokenHeader } from "../../../src/token/index.ts";
import { signingKeySecret, type SecretObject } from "../../../src/model/signing-key/secret.ts";
import type { SigningKeyDocument } from "../../../src/model/signing-key/document.ts";
import { clientCredentialsSecret, clientSecretHashSecret } from "../../../src/model/client-credentials.ts";

/** keyward's own namespace in these tests: the signing-key Secrets are there. */
export const SYSTEM_NAMESPACE = "keyward-system";

export const ISSUER = "https://keyward.test";
export const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
export const ISSUE_POLICY: AccessPolicySpec = { rules: [{ effect: "Allow", methods: ["POST"], paths: ["/api/v0/admin/api-keys/*/tokens"] }] };
export const READ_POLICY: AccessPolicySpec = { rules: [{ effect: "Allow", methods: ["GET"], paths: ["/api/v0/**"] }] };

class MapLookup<T extends KubeObject> implements ObjectLookup<T> {
  readonly items = new Map<string, T>();
  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(`${namespace ?? ""}/${name}`);
  }
  put(obj: T): void {
    this.items.set(`${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`, obj);
  }
}

export class MemoryCache implements IssuerCache {
  isSynced = true;
  readonly apiKeys = new MapLookup<ApiKey>();
  readonly secrets = new MapLookup<SecretObject>();
  /** The tenants' keyward-bundle ConfigMaps, as the controller publishes them (and their editors can write them). */
  readonly configMaps = new MapLookup<ConfigMapObject>();
  /** The controller's records in keyward's own namespace: what the token service reads. */
  readonly records = new MapLookup<ConfigMapObject>();
  readonly systemNamespace = "keyward-system";
  readonly rotationPolicies = new MapLookup<RotationPolicy>();
  readonly clusterRotationPolicies = new MapLookup<ClusterRotationPolicy>();
  synced(): boolean {
    return this.isSynced;
  }
}

/** Keeps IssuedTokens in memory; fails the next create when told to. */
export class MemoryStore implements IssuedTokenStore {
  readonly records: IssuedToken[] = [];
  failNext = false;
  create(record: IssuedToken): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error("etcdserver: request timed out"));
    }
    this.records.push(structuredClone(record));
    return Promise.resolve();
  }
}

export class MemoryEvents implements AuditEvents {
  readonly events: { kind: string; name: string; reason: string; message: string }[] = [];
  normal(obj: KubeObject, reason: string, message: string): Promise<void> {
    this.events.push({ kind: obj.kind ?? "", name: obj.metadata?.name ?? "", reason, message });
    return Promise.resolve();
  }
}

export class LogCapture {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  entries(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  text(): string {
    return this.lines.join("");
  }
}

export interface ApiKeySetup {
  name: string;
  policies?: string[];
  suspended?: boolean;
  ready?: boolean;
  clientSecret?: string;
  /** The signing key's algorithm; default EdDSA. */
  alg?: "EdDSA" | "ES256" | "RS256";
  rotationPolicyRef?: ApiKey["spec"] extends infer S ? S extends { rotationPolicyRef?: infer R } ? R : never : never;
}

export interface TenantKeys {
  apiKeys: Map<string, { apiKey: ApiKey; key: PrivateJwk }>;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

export class World {
  readonly cache = new MemoryCache();
  readonly store = new MemoryStore();
  readonly events = new MemoryEvents();
  readonly logs = new LogCapture();
  readonly clock: ManualClock;
  readonly tenants = new Map<string, TenantKeys>();
  readonly policies = new Map<string, Record<string, AccessPolicySpec>>();
  ca!: CertificateAuthority;
  dir!: string;
  service!: RunningTokenService;

  /** The configured issuer: the bundles' issuer; a tenant's tokens carry `{issuer}/{tenant}`. */
  readonly issuer: string;

  constructor(nowMs = NOW, issuer = ISSUER) {
    this.clock = new ManualClock(nowMs);
    this.issuer = issuer;
  }

  /** A token service on 127.0.0.1 with its clock at `nowMs` (default NOW, frozen). */
  static async start(overrides: Partial<TokenServiceOptions> = {}, nowMs = NOW): Promise<World> {
    const w = new World(nowMs, overrides.issuer ?? ISSUER);
    w.dir = await mkdtemp(join(tmpdir(), "keyward-issuer-"));
    w.ca = createCertificateAuthority({ commonName: "keyward test CA" });
    await w.writeCertificate(w.ca);
    w.service = await startTokenService({
      listen: { host: "127.0.0.1", port: 0 },
      tls: { certFile: join(w.dir, "tls.crt"), keyFile: join(w.dir, "tls.key"), pollIntervalMs: 0 },
      issuer: w.issuer,
      cache: w.cache,
      systemNamespace: SYSTEM_NAMESPACE,
      store: w.store,
      events: w.events,
      logger: createTokenServiceLogger({ destination: w.logs, level: "debug" }),
      clock: w.clock,
      ...overrides,
    });
    return w;
  }

  async writeCertificate(ca: CertificateAuthority): Promise<void> {
    const leaf = issueCertificate(ca, { subject: { commonName: "keyward-token-service" }, hosts: ["127.0.0.1", "localhost"], usage: "server" });
    await writeFile(join(this.dir, "tls.crt"), leaf.certPem);
    await writeFile(join(this.dir, "tls.key"), leaf.keyPem);
  }

  async stop(): Promise<void> {
    await this.service.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Creates a tenant's ApiKeys (Ready, with an active key in their signing-key Secret), policies, and its bundle. */
  async tenant(name: string, apiKeys: ApiKeySetup[], policies: Record<string, AccessPolicySpec> = { "token-issuer": ISSUE_POLICY, "read": READ_POLICY }): Promise<void> {
    const keys = new Map<string, { apiKey: ApiKey; key: PrivateJwk }>();
    for (const setup of apiKeys) {
      const key = await generateSigningKey(setup.alg ?? "EdDSA");
      const apiKey: ApiKey = {
        apiVersion: API_VERSION,
        kind: "ApiKey",
        metadata: {
          name: setup.name,
          namespace: name,
          uid: `uid-${name}-${setup.name}`,
          ...(setup.clientSecret === undefined ? {} : { annotations: { "keyward.dev/client-credentials": "enabled" } }),
        },
        spec: { policies: setup.policies ?? [], suspended: setup.suspended ?? false, ...(setup.rotationPolicyRef === undefined ? {} : { rotationPolicyRef: setup.rotationPolicyRef }) },
        status: {
          conditions: [
            { type: "Ready", status: setup.ready === false ? "False" : "True", lastTransitionTime: "2026-11-01T00:00:00Z", reason: setup.ready === false ? "KeysPending" : "KeysReady", message: "test" },
          ],
        },
      };
      const document: SigningKeyDocument = {
        version: 1,
        keys: [{ jwk: key, state: "active", createdAt: "2026-11-01T00:00:00Z", activatesAt: "2026-11-01T00:00:00Z", notAfter: null }],
        lastRotationTime: "2026-11-01T00:00:00Z",
        observedRequests: {},
        revokedBefore: null,
      };
      this.cache.apiKeys.put(apiKey);
      this.cache.secrets.put(signingKeySecret(SYSTEM_NAMESPACE, { namespace: name, name: setup.name, uid: apiKey.metadata.uid ?? "" }, document));
      if (setup.clientSecret !== undefined) {
        this.cache.secrets.put(clientCredentialsSecret(apiKey, setup.clientSecret));
        this.cache.secrets.put(clientSecretHashSecret(apiKey, setup.clientSecret));
      }
      keys.set(setup.name, { apiKey, key });
    }
    this.tenants.set(name, { apiKeys: keys });
    this.policies.set(name, policies);
    this.publish(name, []);
  }

  /** Writes the tenant's bundle, record first, from its ApiKeys, policies and these revocations. */
  publish(tenant: string, revocations: RevokedEntry[]): void {
    const t = this.tenants.get(tenant);
    if (t === undefined) throw new Error(`no tenant ${tenant}`);
    const current = this.cache.configMaps.get(tenant, "keyward-bundle")?.data ?? null;
    const plan = planBundleFor({
      tenant,
      issuer: this.issuer,
      now: new Date(this.clock.now()),
      apiKeys: [...t.apiKeys.values()].map(({ apiKey }) => ({
        name: apiKey.metadata.name ?? "",
        uid: apiKey.metadata.uid ?? "",
        deleting: false,
        suspended: apiKey.spec?.suspended === true,
        policies: apiKey.spec?.policies ?? [],
        revokedBefore: null,
        allowNonExpiring: false,
        keys: bundleKeysOf({ version: 1, keys: [{ jwk: this.key(tenant, apiKey.metadata.name ?? ""), state: "active", createdAt: "2026-11-01T00:00:00Z", activatesAt: "2026-11-01T00:00:00Z", notAfter: null }], lastRotationTime: "2026-11-01T00:00:00Z", observedRequests: {}, revokedBefore: null }, apiKey.metadata.name ?? ""),
      })),
      accessPolicies: Object.entries(this.policies.get(tenant) ?? {}).map(([name, spec]) => ({ name, spec })),
      revocations,
      current,
      record: current?.["bundle.json"] ?? null,
      trust: null,
    });
    this.cache.records.put(bundleRecordConfigMap(this.cache.systemNamespace, tenant, plan.data["bundle.json"]));
    this.cache.configMaps.put(bundleConfigMap(tenant, plan.data, plan.bundle.generation));
  }

  key(tenant: string, apiKey: string): PrivateJwk {
    const k = this.tenants.get(tenant)?.apiKeys.get(apiKey)?.key;
    if (k === undefined) throw new Error(`no ApiKey ${tenant}/${apiKey}`);
    return k;
  }

  /** A token for the ApiKey, signed with its key, issued at `atMs` (default now) for `lifetimeSeconds`. */
  token(tenant: string, apiKey: string, opts: { atMs?: number; lifetimeSeconds?: number; jti?: string } = {}): string {
    return issueAccessTokenSync({
      key: this.key(tenant, apiKey),
      issuer: tenantIssuer(this.issuer, tenant),
      apiKey,
      tenant,
      now: new Date(opts.atMs ?? this.clock.now()),
      lifetimeSeconds: opts.lifetimeSeconds ?? 3600,
      ...(opts.jti === undefined ? {} : { jti: opts.jti }),
    }).token;
  }

  request(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
    return send(this.service.address.port, this.ca.certPem, path, opts);
  }

  issue(tenant: string, target: string, callerToken: string, body?: unknown): Promise<Reply> {
    return this.request(`/api/v0/admin/api-keys/${target}/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${callerToken}`, "x-keyward-tenant": tenant, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  oauth(form: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request("/oauth2/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }
}

export function basic(clientId: string, clientSecret: string): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString("base64")}`;
}

/** One HTTPS request to 127.0.0.1:port that trusts only `caPem`. */
export function send(port: number, caPem: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers: opts.headers ?? {}, ca: caPem, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          json = {};
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** The peer certificate's fingerprint that 127.0.0.1:port serves, trusting `caPem`. */
export function servedFingerprint(port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/healthz", ca: caPem, agent: false });
    req.on("socket", (socket: TLSSocket) => {
      socket.once("secureConnect", () => {
        const fp = socket.getPeerCertificate().fingerprint256;
        req.on("response", (res) => {
          res.resume();
          res.on("end", () => { resolve(fp); });
        });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** The header and claims of a token this suite issued (not verified). */
export function decoded(token: string): { header: TokenHeader; claims: TokenClaims } {
  const { header, claims } = decodeUnverified(token);
  return { header: header as TokenHeader, claims: claims as TokenClaims };
}
