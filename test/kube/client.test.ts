import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ContentTypes, KubeClient } from "../../src/kube/client.ts";
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  KubeApiError,
  KubeError,
  NotFoundError,
  TooManyRequestsError,
  UnavailableError,
} from "../../src/kube/errors.ts";
import { Resources } from "../../src/kube/resources.ts";
import type { KubeObject, WatchEvent } from "../../src/kube/types.ts";
import { WriteCounter } from "../../src/kube/writes.ts";
import { FakeApiServer, status } from "./support/fake-apiserver.ts";

interface Secret extends KubeObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

let api: FakeApiServer;
let client: KubeClient;

beforeAll(async () => {
  api = await FakeApiServer.start();
});

afterAll(async () => {
  await api.stop();
});

beforeEach(() => {
  api.requests.length = 0;
  client = new KubeClient({ kubeConfig: api.kubeConfig(), fieldManager: "keyward-test" });
});

let n = 0;
function name(prefix: string): string {
  return `${prefix}-${++n}`;
}

describe("KubeClient requests", () => {
  it("sends a merge patch as application/merge-patch+json, never as the json-patch default", async () => {
    const s = await client.create<Secret>(Resources.secrets, { metadata: { name: name("s"), namespace: "acme" }, data: { a: "MQ==" } });
    api.requests.length = 0;
    const patched = await client.mergePatch<Secret>(Resources.secrets, { namespace: "acme", name: s.metadata!.name! }, { data: { a: null, b: "Mg==" } });
    const req = api.requests[0]!;
    expect(req.method).toBe("PATCH");
    expect(req.contentType).toBe(ContentTypes.mergePatch);
    expect(req.query.get("fieldManager")).toBe("keyward-test");
    expect(patched.data).toEqual({ b: "Mg==" });
  });

  it("sends server-side apply as application/apply-patch+yaml with fieldManager and force", async () => {
    const applied = await client.apply<Secret>(Resources.secrets, { metadata: { name: name("s"), namespace: "acme" }, stringData: { k: "v" } });
    const req = api.requests[0]!;
    expect(req.method).toBe("PATCH");
    expect(req.contentType).toBe(ContentTypes.applyPatch);
    expect(req.query.get("fieldManager")).toBe("keyward-test");
    expect(req.query.get("force")).toBe("true");
    expect(req.body).toMatchObject({ apiVersion: "v1", kind: "Secret" });
    expect(req.path).toBe(`/api/v1/namespaces/acme/secrets/${applied.metadata!.name!}`);
  });

  it("omits force when an apply asks not to force", async () => {
    await client.apply(Resources.secrets, { metadata: { name: name("s"), namespace: "acme" } }, { force: false });
    expect(api.requests[0]!.query.has("force")).toBe(false);
  });

  it("documents the trap it avoids: client-node's generated patch sends application/json-patch+json", async () => {
    const core = api.kubeConfig().makeApiClient(CoreV1Api);
    const s = await client.create<Secret>(Resources.secrets, { metadata: { name: name("s"), namespace: "acme" } });
    api.requests.length = 0;
    await expect(core.patchNamespacedSecret({ name: s.metadata!.name!, namespace: "acme", body: { data: { a: "MQ==" } } })).rejects.toThrow();
    expect(api.requests[0]!.contentType).toBe("application/json-patch+json");
  });

  it("builds core, group, namespaced, cluster-scoped and status paths", async () => {
    await client.list(Resources.apiKeys, { namespace: "acme", labelSelector: "a=b" });
    await client.list(Resources.apiKeys);
    await client.list(Resources.clusterRotationPolicies);
    await client.find(Resources.leases, { namespace: "kube-system", name: "keyward" });
    await expect(client.mergePatchStatus(Resources.apiKeys, { namespace: "acme", name: "reporting" }, { status: {} })).rejects.toBeInstanceOf(NotFoundError);
    expect(api.requests.map((r) => r.path)).toEqual([
      "/apis/keyward.dev/v1alpha1/namespaces/acme/apikeys",
      "/apis/keyward.dev/v1alpha1/apikeys",
      "/apis/keyward.dev/v1alpha1/clusterrotationpolicies",
      "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/keyward",
      "/apis/keyward.dev/v1alpha1/namespaces/acme/apikeys/reporting/status",
    ]);
    expect(api.requests[0]!.query.get("labelSelector")).toBe("a=b");
  });

  it("authenticates with the kubeconfig's credentials", async () => {
    await client.list(Resources.secrets, { namespace: "acme" });
    expect(api.requests[0]!.authorization).toBe("Bearer fake-bearer-token");
  });

  it("updates the status subresource with PUT and keeps the spec untouched", async () => {
    const created = await client.create(Resources.apiKeys, { metadata: { name: name("k"), namespace: "acme" }, spec: { suspended: false } } as KubeObject);
    const withStatus = await client.replaceStatus(Resources.apiKeys, { ...created, spec: { suspended: true }, status: { activeKid: "x" } } as KubeObject);
    expect(api.requests.at(-1)!.path).toMatch(/\/apikeys\/k-\d+\/status$/);
    expect(withStatus).toMatchObject({ spec: { suspended: false }, status: { activeKid: "x" } });
  });

  it("follows continue tokens in listAll", async () => {
    const first = { kind: "SecretList", metadata: { resourceVersion: "7", continue: "page2" }, items: [{ metadata: { name: "a" } }] };
    const second = { kind: "SecretList", metadata: { resourceVersion: "7" }, items: [{ metadata: { name: "b" } }] };
    const remove = api.inject((r) =>
      r.method === "GET" && r.path === "/api/v1/namespaces/paged/secrets" ? { status: 200, body: r.query.get("continue") === "page2" ? second : first } : undefined,
    );
    try {
      const all = await client.listAll(Resources.secrets, { namespace: "paged", pageSize: 1 });
      expect(all.items.map((i) => i.metadata?.name)).toEqual(["a", "b"]);
      expect(all.metadata.resourceVersion).toBe("7");
      expect(api.requests.map((r) => r.query.get("limit"))).toEqual(["1", "1"]);
    } finally {
      remove();
    }
  });
});

describe("KubeClient errors", () => {
  it("surfaces a stale resourceVersion on replace as ConflictError", async () => {
    const s = await client.create<Secret>(Resources.secrets, { metadata: { name: name("s"), namespace: "acme" } });
    await client.replace(Resources.secrets, { ...s, data: { x: "MQ==" } });
    const err = await client.replace(Resources.secrets, { ...s, data: { y: "Mg==" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).code).toBe("ERR_KUBE_CONFLICT");
    expect((err as ConflictError).status).toBe(409);
  });

  it("refuses a replace without resourceVersion before sending anything", async () => {
    const err = await client.replace(Resources.secrets, { metadata: { name: "x", namespace: "acme" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeError);
    expect((err as KubeError).code).toBe("ERR_KUBE_CLIENT_INPUT");
    expect((err as Error).message).toContain("metadata.resourceVersion is required");
    expect(api.requests).toHaveLength(0);
  });

  it("refuses a namespaced call without namespace, and a cluster-scoped one with a namespace", async () => {
    await expect(client.get(Resources.apiKeys, { name: "x" })).rejects.toThrow(/ApiKey is namespaced, a namespace is required/);
    await expect(client.get(Resources.clusterRotationPolicies, { name: "default", namespace: "acme" })).rejects.toThrow(/cluster-scoped/);
    expect(api.requests).toHaveLength(0);
  });

  it("maps a merge patch carrying a stale resourceVersion to ConflictError", async () => {
    const s = await client.create<Secret>(Resources.secrets, { metadata: { name: name("s"), namespace: "acme" } });
    await client.mergePatch(Resources.secrets, { namespace: "acme", name: s.metadata!.name! }, { data: { a: "MQ==" } });
    await expect(
      client.mergePatch(Resources.secrets, { namespace: "acme", name: s.metadata!.name! }, { data: { b: "MQ==" } }, { resourceVersion: s.metadata!.resourceVersion! }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect((api.requests.at(-1)!.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion).toBe(s.metadata!.resourceVersion);
  });

  it("tells AlreadyExists apart from Conflict", async () => {
    const obj = { metadata: { name: name("s"), namespace: "acme" } };
    await client.create(Resources.secrets, obj);
    await expect(client.create(Resources.secrets, obj)).rejects.toBeInstanceOf(AlreadyExistsError);
  });

  it("maps each status to its typed error with the server's message and causes", async () => {
    const cases: Array<[number, object, new (...args: never[]) => KubeApiError, string]> = [
      [403, status(403, "Forbidden", 'secrets is forbidden: User "x" cannot list'), ForbiddenError, "ERR_KUBE_FORBIDDEN"],
      [401, status(401, "Unauthorized", "Unauthorized"), KubeApiError, "ERR_KUBE_UNAUTHORIZED"],
      [410, status(410, "Expired", "too old resource version"), GoneError, "ERR_KUBE_GONE"],
      [500, status(500, "InternalError", "etcdserver: request timed out"), UnavailableError, "ERR_KUBE_UNAVAILABLE"],
      [503, status(503, "ServiceUnavailable", "unavailable"), UnavailableError, "ERR_KUBE_UNAVAILABLE"],
      [400, status(400, "BadRequest", "bad selector"), KubeApiError, "ERR_KUBE_BAD_REQUEST"],
      [415, status(415, "UnsupportedMediaType", "nope"), KubeApiError, "ERR_KUBE_UNSUPPORTED_MEDIA_TYPE"],
    ];
    for (const [code, body, cls, errCode] of cases) {
      const remove = api.inject(() => ({ status: code, body }));
      try {
        const err = await client.list(Resources.secrets, { namespace: "acme" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(cls);
        expect((err as KubeApiError).code).toBe(errCode);
        expect((err as KubeApiError).serverMessage).toBe((body as { message: string }).message);
        expect((err as Error).message).toContain("list secrets in namespace acme");
      } finally {
        remove();
      }
    }
  });

  it("carries the causes of a 422 Invalid in InvalidError and its message", async () => {
    const body = {
      ...status(422, "Invalid", 'ApiKey.keyward.dev "r" is invalid: spec.policies[0]: Invalid value: "": must not be empty'),
      details: { name: "r", kind: "ApiKey", causes: [{ reason: "FieldValueInvalid", message: 'Invalid value: "": must not be empty', field: "spec.policies[0]" }] },
    };
    const remove = api.inject(() => ({ status: 422, body }));
    try {
      const err = await client.create(Resources.apiKeys, { metadata: { name: "r", namespace: "acme" } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidError);
      expect((err as InvalidError).code).toBe("ERR_KUBE_INVALID");
      expect((err as InvalidError).causes).toEqual(body.details.causes);
      expect((err as Error).message).toContain("create apikeys.keyward.dev acme/r");
      expect((err as Error).message).toContain("spec.policies[0]");
    } finally {
      remove();
    }
  });

  it("reads Retry-After of a 429 into TooManyRequestsError", async () => {
    const remove = api.inject(() => ({ status: 429, body: { ...status(429, "TooManyRequests", "slow down"), details: { retryAfterSeconds: 3 } } }));
    try {
      const err = await client.get(Resources.secrets, { namespace: "acme", name: "x" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TooManyRequestsError);
      expect((err as TooManyRequestsError).retryAfterSeconds).toBe(3);
    } finally {
      remove();
    }
  });

  it("reports an unreachable server as UnavailableError naming the address", async () => {
    const down = await FakeApiServer.start();
    const kc = down.kubeConfig();
    const url = down.url;
    await down.stop();
    const offline = new KubeClient({ kubeConfig: kc });
    const err = await offline.get(Resources.secrets, { namespace: "acme", name: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).status).toBe(0);
    expect((err as Error).message).toContain(url);
  });

  it("resolves false when deleting a missing object with ignoreNotFound", async () => {
    expect(await client.delete(Resources.secrets, { namespace: "acme", name: "missing" }, { ignoreNotFound: true })).toBe(false);
    await expect(client.delete(Resources.secrets, { namespace: "acme", name: "missing" })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("resolves undefined from find for a missing object", async () => {
    expect(await client.find(Resources.secrets, { namespace: "acme", name: "missing" })).toBeUndefined();
  });
});

describe("KubeClient write counter", () => {
  it("counts every write by verb and resource, and no read", async () => {
    const writes = new WriteCounter();
    const c = new KubeClient({ kubeConfig: api.kubeConfig(), writes });
    const nm = name("w");
    const s = await c.create<Secret>(Resources.secrets, { metadata: { name: nm, namespace: "acme" } });
    await c.get(Resources.secrets, { namespace: "acme", name: nm });
    await c.list(Resources.secrets, { namespace: "acme" });
    await c.replace(Resources.secrets, s);
    await c.mergePatch(Resources.secrets, { namespace: "acme", name: nm }, { metadata: { labels: { a: "b" } } });
    await c.apply(Resources.secrets, { metadata: { name: nm, namespace: "acme" } });
    await c.create(Resources.apiKeys, { metadata: { name: nm, namespace: "acme" } });
    await c.mergePatchStatus(Resources.apiKeys, { namespace: "acme", name: nm }, { status: { x: 1 } });
    await c.delete(Resources.secrets, { namespace: "acme", name: nm });
    await c.replace(Resources.secrets, s).catch(() => undefined); // refused by the server: still a write sent
    expect(writes.snapshot()).toEqual([
      { verb: "create", resource: "apikeys.keyward.dev", count: 1 },
      { verb: "patch", resource: "apikeys.keyward.dev/status", count: 1 },
      { verb: "apply", resource: "secrets", count: 1 },
      { verb: "create", resource: "secrets", count: 1 },
      { verb: "delete", resource: "secrets", count: 1 },
      { verb: "patch", resource: "secrets", count: 1 },
      { verb: "update", resource: "secrets", count: 2 },
    ]);
    expect(writes.count()).toBe(8);
    expect(writes.count({ resource: "secrets" })).toBe(6);
    expect(writes.count({ verb: "update" })).toBe(2);
  });

  it("does not count a write refused before sending", async () => {
    const writes = new WriteCounter();
    const c = new KubeClient({ kubeConfig: api.kubeConfig(), writes });
    await c.replace(Resources.secrets, { metadata: { name: "x", namespace: "acme" } }).catch(() => undefined);
    expect(writes.count()).toBe(0);
  });
});

describe("KubeClient watch", () => {
  async function collect(gen: AsyncIterable<WatchEvent<KubeObject>>, n: number): Promise<WatchEvent<KubeObject>[]> {
    const out: WatchEvent<KubeObject>[] = [];
    for await (const ev of gen) {
      out.push(ev);
      if (out.length === n) break;
    }
    return out;
  }

  it("streams events after the resourceVersion given and closes the connection when the consumer stops", async () => {
    const ns = name("watch");
    const list = await client.list(Resources.configMaps, { namespace: ns });
    api.seed("v1/configmaps", { metadata: { name: "a", namespace: ns } });
    api.modify("v1/configmaps", ns, "a", (o) => (o.data = { k: "v" }));
    api.remove("v1/configmaps", ns, "a");
    const events = await collect(client.watch(Resources.configMaps, { namespace: ns, resourceVersion: list.metadata.resourceVersion }), 3);
    expect(events.map((e) => [e.type, e.object.metadata?.name])).toEqual([
      ["ADDED", "a"],
      ["MODIFIED", "a"],
      ["DELETED", "a"],
    ]);
    const req = api.requests.at(-1)!;
    expect(req.query.get("watch")).toBe("true");
    expect(req.query.get("allowWatchBookmarks")).toBe("true");
    expect(Number(req.query.get("timeoutSeconds"))).toBeGreaterThanOrEqual(300);
    await expect.poll(() => api.openWatches).toBe(0);
  });

  it("throws GoneError when the server answers the watch with a 410 ERROR event", async () => {
    const old = String(api.resourceVersion);
    api.seed("v1/configmaps", { metadata: { name: name("c"), namespace: "gone" } });
    api.compact();
    const err = await collect(client.watch(Resources.configMaps, { namespace: "gone", resourceVersion: old }), 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GoneError);
    expect((err as GoneError).code).toBe("ERR_KUBE_GONE");
  });

  it("ends without error when the server closes the watch", async () => {
    const ns = name("closing");
    const gen = client.watch(Resources.configMaps, { namespace: ns });
    const done = collect(gen, 10);
    await expect.poll(() => api.openWatches).toBeGreaterThan(0);
    api.closeWatches();
    expect(await done).toEqual([]);
  });

  it("ends quietly when its signal aborts", async () => {
    const abort = new AbortController();
    const done = collect(client.watch(Resources.configMaps, { namespace: name("abort"), signal: abort.signal }), 10);
    await expect.poll(() => api.openWatches).toBeGreaterThan(0);
    abort.abort();
    expect(await done).toEqual([]);
  });

  it("turns a non-200 watch answer into its typed error", async () => {
    const remove = api.inject((r) => (r.query.get("watch") === "true" ? { status: 403, body: status(403, "Forbidden", "cannot watch") } : undefined));
    try {
      await expect(collect(client.watch(Resources.secrets, { namespace: "acme" }), 1)).rejects.toBeInstanceOf(ForbiddenError);
    } finally {
      remove();
    }
  });
});
