// Verifiers report back, on a real API server: the controller (in-process, under the RBAC of
// config/rbac) and three `keyward verifier` processes (--bundle-configmap, as the ServiceAccount
// of config/verifier) that report the generation they enforce in Leases. `kubectl keyward
// status` shows them SYNCED; a verifier frozen with SIGSTOP turns STALE while its heartbeat is
// within the TTL, holds the activation of a new key until prePublish, and holds a revocation's
// enforced-at (an ApiKey's, an AccessToken's, an IssuedToken's) until it resumes (SIGCONT) and
// enforces it too. The controller runs with its token service (and config/issuer/component's
// RBAC), which IssuedTokens come with.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKey, IssuedToken } from "../../../src/api/index.ts";
import { issuedTokenObject } from "../../../src/model/issued-token.ts";
import { readVerifierReport, VERIFIER_REPORT_SELECTOR, type LeaseObject } from "../../../src/model/verifier-report.ts";
import { run } from "../../plugin/support.ts";
import {
  accessTokenRef,
  accessTokenWhen,
  apiKeyRef,
  apiKeyWhen,
  condition,
  controllerIdentity,
  getAccessToken,
  getApiKey,
  grantTrustRead,
  isTrue,
  readBundle,
  runController,
  settled,
  systemNamespaceFor,
  trustConfigMapFor,
  type TestController,
} from "../controller/support.ts";
import { eventually, keywardObject, Kube, type KubeObject, useNamespace } from "../harness/index.ts";
import { grantTokenService, tokenServiceOn } from "../issuer/support.ts";
import { verifierIdentity } from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "verifier-reports");
const MAIN = fileURLToPath(new URL("../../../src/cli/main.ts", import.meta.url));
const API_KEY = "reporting";
const PODS = ["web-0", "web-1", "web-2"] as const;
/** The verifiers beat every 300 ms; the controller counts one dead after 20 s without a beat. */
const TTL_MS = 20_000;
const PRE_PUBLISH_MS = 8000;
const WAIT = { timeoutMs: 30_000, intervalMs: 100 };

let ctl: TestController;
let dir = "";
const children = new Map<string, ChildProcess>();
const output = new Map<string, string>();

function startVerifier(pod: string, kubeconfig: string): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      MAIN, "verifier",
      "--mode", "authz",
      "--listen", "127.0.0.1:0",
      "--metrics-listen", "off",
      "--tenant", ns.name,
      "--bundle-configmap", `${ns.name}/keyward-bundle`,
      "--bundle-trust-configmap", trustConfigMapFor(ns.name),
      "--kubeconfig", kubeconfig,
      "--report-interval", "300ms",
      "--pod-name", pod,
    ],
    { env: { PATH: process.env.PATH ?? "" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  output.set(pod, "");
  const keep = (c: Buffer): void => { output.set(pod, (output.get(pod) ?? "") + c.toString()); };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  return child;
}

function signal(pod: string, sig: "SIGSTOP" | "SIGCONT"): void {
  const child = children.get(pod);
  if (child === undefined || !child.kill(sig)) throw new Error(`could not send ${sig} to the verifier of ${pod}`);
}

/** The verifier table of `kubectl keyward status`, as pod → [generation, sync]. */
async function statusTable(): Promise<Map<string, [string, string]>> {
  const r = await run(["status", "-n", ns.name, "--kubeconfig", kube.kubeconfigPath], { env: {}, now: Date.now() });
  expect(r.code).toBe(0);
  const lines = r.stdout.split("\n");
  const at = lines.indexOf("Verifiers:");
  const rows = new Map<string, [string, string]>();
  if (at < 0) return rows;
  for (const line of lines.slice(at + 2)) {
    const [pod, generation, sync] = line.split(/\s{3,}/);
    if (pod !== undefined && pod !== "" && generation !== undefined && sync !== undefined) rows.set(pod, [generation, sync]);
  }
  return rows;
}

async function bundleGeneration(): Promise<number> {
  const bundle = await readBundle(kube, ns.name);
  if (bundle === undefined) throw new Error("no bundle");
  return bundle.generation;
}

/** Waits until `kubectl keyward status` shows each pod in the state given, on the current generation when SYNCED. */
async function until(states: Record<string, "SYNCED" | "STALE">, what: string): Promise<Map<string, [string, string]>> {
  return eventually(what, async () => {
    const generation = String(await bundleGeneration());
    const rows = await statusTable();
    for (const [pod, state] of Object.entries(states)) {
      const row = rows.get(pod);
      if (row?.[1] !== state) return undefined;
      if (state === "SYNCED" && row[0] !== generation) return undefined;
      if (state === "STALE" && row[0] === generation) return undefined;
    }
    return rows;
  }, WAIT);
}

async function leaseReports(): Promise<Map<string, ReturnType<typeof readVerifierReport>>> {
  const leases = await kube.list<KubeObject & LeaseObject>({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: ns.name }, VERIFIER_REPORT_SELECTOR);
  return new Map(leases.map((l) => { const r = readVerifierReport(l); return [r?.pod ?? "", r]; }));
}

async function rotate(value: string): Promise<void> {
  await kube.mergePatch(apiKeyRef(ns.name, API_KEY), { spec: { rotate: value } });
}

/** The prepared key the rotation `value` started, once the status shows it. */
async function preparedAfter(value: string): Promise<{ kid: string; createdAt: string; activatesAt: string }> {
  const k = await apiKeyWhen(kube, ns.name, API_KEY, (k) => k.status?.observedRequests?.rotate === value && (k.status.keys ?? []).some((x) => x.state === "prepared" || x.kid === k.status?.lastActivation?.kid), `rotation ${value} started`);
  const key = (k.status?.keys ?? []).find((x) => x.state === "prepared") ?? (k.status?.keys ?? []).find((x) => x.kid === k.status?.lastActivation?.kid);
  if (key === undefined) throw new Error("no new key");
  return { kid: key.kid, createdAt: key.createdAt, activatesAt: key.activatesAt ?? "" };
}

async function activated(kid: string): Promise<NonNullable<NonNullable<ApiKey["status"]>["lastActivation"]>> {
  const k = await apiKeyWhen(kube, ns.name, API_KEY, (k) => k.status?.lastActivation?.kid === kid && k.status.activeKid === kid, `key ${kid} active`);
  return k.status!.lastActivation!;
}

/** Waits until web-0 and web-1 enforce `generation` or a later one. */
async function othersEnforce(generation: number): Promise<void> {
  await eventually("web-0 and web-1 to enforce it", async () => {
    const reports = await leaseReports();
    return ["web-0", "web-1"].every((pod) => (reports.get(pod)?.generation ?? 0) >= generation);
  }, WAIT);
}

/**
 * Freezes web-2 and revokes token `jti` (`revoke`); returns the first bundle generation listing it
 * once web-0 and web-1 enforce it and the controller has settled. web-2 stays frozen.
 */
async function revokedWithWeb2Frozen(jti: string, revoke: () => Promise<unknown>): Promise<number> {
  signal("web-2", "SIGSTOP");
  await revoke();
  const generation = await eventually("the bundle to list the token", async () => {
    const bundle = await readBundle(kube, ns.name);
    return bundle?.revoked.some((r) => r.jti === jti) === true ? bundle.generation : undefined;
  }, WAIT);
  await othersEnforce(generation);
  await settled(ctl.running);
  return generation;
}

beforeAll(async () => {
  const identity = await controllerIdentity(kube, ns.name);
  // config/trust in the controller's system namespace: the verifiers read the bundle-signing keys there.
  await grantTrustRead(kube, await systemNamespaceFor(ns.name));
  await grantTokenService(kube, ns.name);
  dir = mkdtempSync(join(tmpdir(), "keyward-reports-"));
  ctl = await runController(identity, ns.name, { verifierTtlMs: TTL_MS, tokenService: (await tokenServiceOn(dir)).tokenService });
  await kube.create(keywardObject("RotationPolicy", ns.name, "gated", { schedule: { every: "24h" }, prePublish: `${PRE_PUBLISH_MS / 1000}s`, grace: "1h" }));
  await kube.create(keywardObject("ApiKey", ns.name, API_KEY, { rotationPolicyRef: { kind: "RotationPolicy", name: "gated" } }));
  await apiKeyWhen(kube, ns.name, API_KEY, (k) => isTrue(condition(k, "Ready")) && isTrue(condition(k, "Published")), "Ready and Published");

  const kubeconfig = join(dir, "verifier.kubeconfig");
  writeFileSync(kubeconfig, (await verifierIdentity(kube, ns.name)).exportConfig(), { mode: 0o600 });
  for (const pod of PODS) children.set(pod, startVerifier(pod, kubeconfig));
}, 60_000);

afterAll(async () => {
  for (const child of children.values()) {
    child.kill("SIGCONT");
    const exited = new Promise<void>((resolve) => { if (child.exitCode !== null) resolve(); else child.once("exit", () => { resolve(); }); });
    child.kill("SIGTERM");
    await exited;
  }
  await ctl.running.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("verifiers report the generation they enforce", () => {
  it("shows every verifier SYNCED on the tenant's current generation in kubectl keyward status", async () => {
    const rows = await until({ "web-0": "SYNCED", "web-1": "SYNCED", "web-2": "SYNCED" }, "all three verifiers SYNCED");
    expect([...rows.keys()].sort()).toEqual([...PODS]);
    const reports = await leaseReports();
    for (const pod of PODS) expect(reports.get(pod)).toMatchObject({ tenant: ns.name, version: "0.1.0", generation: await bundleGeneration() });
  });

  it("activates a rotated key as soon as every live verifier enforces a bundle that holds it, before prePublish ends", async () => {
    await rotate("r1");
    const key = await preparedAfter("r1");
    const activation = await activated(key.kid);
    expect(activation).toMatchObject({ reason: "VerifiersSynced", verifiers: 3 });
    expect(Date.parse(activation.at)).toBeLessThan(Date.parse(key.createdAt) + PRE_PUBLISH_MS);
  });

  it("reports a frozen verifier STALE within the TTL and activates the next key only once prePublish has passed, saying why", async () => {
    signal("web-2", "SIGSTOP");
    await rotate("r2");
    const key = await preparedAfter("r2");
    const rows = await until({ "web-0": "SYNCED", "web-1": "SYNCED", "web-2": "STALE" }, "web-2 STALE while the others are SYNCED");
    expect(rows.get("web-2")?.[1]).toBe("STALE");
    // Both other verifiers hold the new key, yet it is still prepared: the gate waits for web-2.
    const waiting = await getApiKey(kube, ns.name, API_KEY);
    if (waiting.status?.activeKid !== key.kid) {
      expect(condition(waiting, "Rotating")?.message).toContain("once every live verifier of the tenant enforces a bundle that holds it");
    }
    const activation = await activated(key.kid);
    expect(activation).toEqual({ kid: key.kid, at: key.activatesAt, reason: "PrePublishElapsed", verifiers: 3 });
    expect(Date.parse(activation.at)).toBe(Date.parse(key.createdAt) + PRE_PUBLISH_MS);
  });

  it("shows the verifier SYNCED again once it resumes", async () => {
    signal("web-2", "SIGCONT");
    await until({ "web-0": "SYNCED", "web-1": "SYNCED", "web-2": "SYNCED" }, "web-2 SYNCED again");
  });

  it("sets a revocation's enforced-at only once every live verifier enforces the bundle that carries it", async () => {
    signal("web-2", "SIGSTOP");
    const cutoff = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString().replace(".000Z", "Z");
    await kube.mergePatch(apiKeyRef(ns.name, API_KEY), { spec: { revokeIssuedBefore: cutoff } });
    const generation = await eventually("the bundle to carry the cut-off", async () => {
      const bundle = await readBundle(kube, ns.name);
      return bundle?.apiKeys[API_KEY]?.revokedBefore === cutoff ? bundle.generation : undefined;
    }, WAIT);
    await othersEnforce(generation);
    await settled(ctl.running);
    const pending = await getApiKey(kube, ns.name, API_KEY);
    expect(pending.status?.revocation?.request).toBe("revokeIssuedBefore");
    expect(pending.status?.revocation?.requestedAt).toBeDefined();
    expect(pending.status?.revocation?.enforcedAt).toBeUndefined();

    signal("web-2", "SIGCONT");
    const done = await apiKeyWhen(kube, ns.name, API_KEY, (k) => k.status?.revocation?.enforcedAt !== undefined, "the revocation enforced");
    expect(done.status?.revocation).toMatchObject({ request: "revokeIssuedBefore", generation, verifiers: 3 });
    const web2 = (await leaseReports()).get("web-2");
    expect(web2?.generation).toBeGreaterThanOrEqual(generation);
    expect(web2?.enforcedSinceMs).toBeLessThanOrEqual(Date.parse(done.status!.revocation!.enforcedAt!) + 999);
  });

  it("starts the next revocation unenforced, whatever the one before recorded", async () => {
    signal("web-2", "SIGSTOP");
    await kube.mergePatch(apiKeyRef(ns.name, API_KEY), { spec: { dropDeposed: "d1" } });
    const generation = await eventually("the bundle to drop the deposed key", async () => {
      const bundle = await readBundle(kube, ns.name);
      return bundle !== undefined && !bundle.keys.some((k) => k.state === "deposed") ? bundle.generation : undefined;
    }, WAIT);
    await othersEnforce(generation);
    await settled(ctl.running);
    const pending = await getApiKey(kube, ns.name, API_KEY);
    expect(pending.status?.revocation?.request).toBe("dropDeposed");
    expect(pending.status?.revocation?.enforcedAt).toBeUndefined();
    expect(pending.status?.revocation?.verifiers).toBeUndefined();
    signal("web-2", "SIGCONT");
    await apiKeyWhen(kube, ns.name, API_KEY, (k) => k.status?.revocation?.request === "dropDeposed" && k.status.revocation.enforcedAt !== undefined, "the deposed key's removal enforced");
  });

  it("records when every live verifier enforces a revoked AccessToken, and not before", async () => {
    await kube.create(keywardObject("AccessToken", ns.name, "revoked", { apiKeyName: API_KEY, lifetime: "1h" }));
    const issued = await accessTokenWhen(kube, ns.name, "revoked", (t) => isTrue(condition(t, "Ready")), "Ready");
    const jti = issued.status?.jti ?? "";
    const generation = await revokedWithWeb2Frozen(jti, () => kube.mergePatch(accessTokenRef(ns.name, "revoked"), { spec: { revoked: true } }));
    const pending = await getAccessToken(kube, ns.name, "revoked");
    expect(pending.status?.revokedAt).toBeDefined();
    expect(pending.status?.revocationEnforced).toBeUndefined();
    signal("web-2", "SIGCONT");
    const done = await accessTokenWhen(kube, ns.name, "revoked", (t) => t.status?.revocationEnforced !== undefined, "the revocation enforced");
    expect(done.status?.revocationEnforced).toMatchObject({ generation, verifiers: 3 });
  });

  it("records when every live verifier enforces a revoked IssuedToken, and not before", async () => {
    const apiKey = await getApiKey(kube, ns.name, API_KEY);
    const nowSeconds = Math.floor(Date.now() / 1000);
    const jti = `it-${String(nowSeconds)}`;
    const created = issuedTokenObject({ apiKey, jti, kid: apiKey.status?.activeKid ?? "", issuedAt: nowSeconds, expiresAt: nowSeconds + 3600, issuedBy: `ApiKey ${ns.name}/${API_KEY}` });
    const ref = { apiVersion: created.apiVersion, kind: created.kind, namespace: ns.name, name: created.metadata.name ?? "" };
    await kube.create(created as unknown as KubeObject);
    const generation = await revokedWithWeb2Frozen(jti, () => kube.mergePatch(ref, { spec: { revoked: true } }));
    const record = (): Promise<KubeObject & Pick<IssuedToken, "status">> => kube.get<KubeObject & Pick<IssuedToken, "status">>(ref);
    const pending = await record();
    expect(pending.status?.revokedAt).toBeDefined();
    expect(pending.status?.revocationEnforced).toBeUndefined();
    signal("web-2", "SIGCONT");
    const done = await eventually("the revocation enforced", async () => {
      const r = await record();
      return r.status?.revocationEnforced === undefined ? undefined : r;
    }, WAIT);
    expect(done.status?.revocationEnforced).toMatchObject({ generation, verifiers: 3 });
    expect(done.status?.revokedAt).toBe(pending.status?.revokedAt);
    const web2 = (await leaseReports()).get("web-2");
    expect(web2?.generation).toBeGreaterThanOrEqual(generation);
    expect(web2?.enforcedSinceMs).toBeLessThanOrEqual(Date.parse(done.status!.revocationEnforced!.at) + 999);
  });
});
