// The six things the demo shows, as real HTTP requests through the verifier: an allowed
// request, one outside the policy, one without a token, a rotation, the revocation of one
// token and "revoke all". Each request step changes the cluster the way an operator would
// (the same patches `kubectl keyward` makes) and then checks what the verifier answers.

import type { AccessToken, ApiKey } from "../api/index.ts";
import { Resources, type KubeClient } from "../kube/index.ts";
import { planRequest, planRevokeToken, planRotate } from "../plugin/index.ts";
import { accessTokenNotReady, apiKeyNotReady, readToken, shortKid, type DemoToken } from "./cluster.ts";
import { describeAnswer, expectStatus, readMetric, waitForStatus, type HttpProbe, type ProbeRequest } from "./http.ts";
import { formatForPeople, type StepContext } from "./timeline.ts";
import type { Upstream } from "./upstream.ts";
import { waitUntil } from "./wait.ts";

/** The demo's own ApiKey (config/demo/reporting.yaml) and its two AccessTokens. */
export const DEMO_API_KEY = "reporting";
export const DEMO_TOKEN = "reporting";
export const DEMO_CI_TOKEN = "reporting-ci";
/** A path the ApiKey's policy (profile-api-read: GET and HEAD on /api/v0/profiles/**) allows. */
export const ALLOWED_PATH = "/api/v0/profiles/42";

/** Each sample role's token on a path its policy allows, and on one it does not. */
export const SAMPLE_ROLES: readonly { accessToken: string; allowed: ProbeRequest; denied: ProbeRequest; why: string }[] = [
  {
    accessToken: "profile-api-read",
    allowed: { method: "GET", path: "/api/v0/profiles/42" },
    denied: { method: "POST", path: "/api/v0/profiles" },
    why: "its policy allows only GET and HEAD",
  },
  {
    accessToken: "datagrid-operator",
    allowed: { method: "PUT", path: "/api/v0/datagrid/grids/7" },
    denied: { method: "GET", path: "/api/v0/profiles/42" },
    why: "its policy covers /api/v0/datagrid/** only",
  },
  {
    accessToken: "streaming-ingest-write",
    allowed: { method: "POST", path: "/api/v0/streams/orders/records", body: '{"id":1}' },
    denied: { method: "GET", path: "/api/v0/streams/orders/records" },
    why: "its policy allows only POST",
  },
  {
    accessToken: "api-token-issuer",
    allowed: { method: "POST", path: "/api/v0/admin/api-keys/reporting/tokens", body: '{"expires-at":"2030-01-01T00:00:00Z"}' },
    denied: { method: "POST", path: "/api/v0/admin/api-keys/api-token-issuer/tokens", body: "{}" },
    why: "an explicit Deny keeps it from issuing tokens for its own key",
  },
];

export interface ScenarioContext {
  client: KubeClient;
  namespace: string;
  /** The verifier's proxy port. */
  verifier: HttpProbe;
  /**
   * The verifier's metrics port: after a change, the steps wait for the bundle generation that
   * carries it. Without it (a port-forward to a sidecar, say) they wait for the new token to pass.
   */
  verifierAdmin?: HttpProbe | undefined;
  /** The workload behind the verifier, to check the identity headers it receives (optional). */
  upstream?: Upstream | undefined;
  timeoutMs: number;
  revocationBudgetMs: number;
  signal?: AbortSignal | undefined;
  /** Where to look when a wait fails. */
  logHint: string;
}

/** The titles of the scenario's steps, in order. */
export const SCENARIO_TITLES = [
  "1. a valid token on a path its policy allows → 200",
  "2. a valid token outside its policy → 403",
  "3. no token, or a forged one → 401",
  "4. rotation (spec.rotate): the old and the re-issued token both pass",
  "5. revoking one token (spec.revoked) → 401 within a second",
  '6. "revoke all" (spec.revokeAll): every old token → 401, the re-issued one → 200',
] as const;

export interface ScenarioStep {
  title: string;
  run: (step: StepContext) => Promise<void>;
}

function label(t: DemoToken, what = `${t.accessToken}'s token`): string {
  return `${what} (kid ${shortKid(t.kid)})`;
}

function withToken(req: ProbeRequest, t: DemoToken | undefined, what?: string): ProbeRequest {
  return t === undefined ? req : { ...req, token: t.token, tokenLabel: label(t, what) };
}

/** A token altered after signing: one character of its signature changed. */
export function tamper(token: string): string {
  const dot = token.lastIndexOf(".");
  const i = dot + 10;
  const c = token[i];
  if (dot < 0 || c === undefined) throw new Error("tamper: not a compact JWS");
  return `${token.slice(0, i)}${c === "A" ? "B" : "A"}${token.slice(i + 1)}`;
}

export class Scenario {
  readonly #ctx: ScenarioContext;
  /** Tokens of the demo ApiKey in the order they were seen (old ones must stay refused later). */
  readonly #tokens: DemoToken[] = [];
  #current: DemoToken | undefined;

  constructor(ctx: ScenarioContext) {
    this.#ctx = ctx;
  }

  steps(): ScenarioStep[] {
    const runs = [
      (s: StepContext) => this.allowed(s),
      (s: StepContext) => this.denied(s),
      (s: StepContext) => this.unauthenticated(s),
      (s: StepContext) => this.rotation(s),
      (s: StepContext) => this.revokeOne(s),
      (s: StepContext) => this.revokeAll(s),
    ];
    return SCENARIO_TITLES.map((title, i) => ({ title, run: runs[i]! }));
  }

  async #apiKey(): Promise<ApiKey> {
    return this.#ctx.client.get<ApiKey>(Resources.apiKeys, { name: DEMO_API_KEY, namespace: this.#ctx.namespace }, { signal: this.#ctx.signal });
  }

  async #token(name: string): Promise<DemoToken> {
    return readToken(this.#ctx.client, this.#ctx.namespace, name, this.#ctx.signal);
  }

  #remember(t: DemoToken): DemoToken {
    if (!this.#tokens.some((x) => x.jti === t.jti)) this.#tokens.push(t);
    return t;
  }

  async #expect(step: StepContext, req: ProbeRequest, status: number): Promise<boolean> {
    const r = await expectStatus(this.#ctx.verifier, req, status, this.#ctx.signal);
    return step.check(r.ok, r.text);
  }

  /**
   * Waits until the verifier runs a bundle at least as new as the ApiKey's published generation
   * (without the metrics port: until `token` passes).
   */
  async #verifierCaughtUp(step: StepContext, key: ApiKey, token: DemoToken): Promise<void> {
    const want = key.status?.bundleGeneration ?? 0;
    const started = performance.now();
    const admin = this.#ctx.verifierAdmin;
    if (admin === undefined) {
      const wait = await waitForStatus(this.#ctx.verifier, withToken({ method: "GET", path: ALLOWED_PATH }, token), 200, {
        timeoutMs: this.#ctx.timeoutMs,
        intervalMs: 50,
        signal: this.#ctx.signal,
      });
      if (!wait.ok) throw new Error(`the verifier still answers ${String(wait.last?.status ?? wait.lastError)} to ${label(token)}; ${this.#ctx.logHint}`);
      step.note(`the verifier accepts key ${shortKid(token.kid)} (waited ${formatForPeople(performance.now() - started)})`);
      return;
    }
    const have = await waitUntil(
      `the verifier loading bundle generation ${want}`,
      async () => {
        const g = await readMetric(admin, "keyward_verifier_bundle_generation", {}, this.#ctx.signal);
        return g !== undefined && g >= want ? { done: true, value: g } : { done: false, state: `generation ${String(g)}` };
      },
      { timeoutMs: this.#ctx.timeoutMs, intervalMs: 20, signal: this.#ctx.signal, hint: this.#ctx.logHint },
    );
    step.note(`the verifier runs bundle generation ${have} (waited ${formatForPeople(performance.now() - started)})`);
  }

  /**
   * Waits until the ApiKey satisfies `done` and the AccessToken `accessToken` holds a token of
   * its active key; returns both.
   */
  async #settled(what: string, accessToken: string, done: (key: ApiKey) => string | null): Promise<{ key: ApiKey; token: DemoToken }> {
    const { namespace, client, signal } = this.#ctx;
    return waitUntil(
      what,
      async () => {
        const key = await this.#apiKey();
        const notKey = done(key) ?? apiKeyNotReady(key);
        if (notKey !== null) return { done: false, state: notKey };
        const at = await client.get<AccessToken>(Resources.accessTokens, { name: accessToken, namespace }, { signal });
        const notToken = accessTokenNotReady(at, key);
        if (notToken !== null) return { done: false, state: notToken };
        const token = await this.#token(accessToken);
        if (token.kid !== key.status?.activeKid) return { done: false, state: `the Secret of ${accessToken} still holds a token of key ${shortKid(token.kid)}` };
        return { done: true, value: { key, token } };
      },
      { timeoutMs: this.#ctx.timeoutMs, intervalMs: 50, signal, hint: this.#ctx.logHint },
    );
  }

  async allowed(step: StepContext): Promise<void> {
    const t = this.#remember(await this.#token(DEMO_TOKEN));
    this.#current = t;
    step.note(`ApiKey ${DEMO_API_KEY} (policy profile-api-read); its token read from the Secret of AccessToken ${DEMO_TOKEN}`);
    const upstream = this.#ctx.upstream;
    const before = upstream?.seen.length ?? 0;
    if ((await this.#expect(step, withToken({ method: "GET", path: ALLOWED_PATH }, t), 200)) && upstream !== undefined) {
      const seen = upstream.seen[before];
      step.check(
        seen !== undefined && seen.apiKey === DEMO_API_KEY && seen.tenant === this.#ctx.namespace && seen.tokenId === t.jti && !seen.authorization,
        seen === undefined
          ? "the workload saw no request"
          : `the workload saw X-Keyward-Api-Key: ${String(seen.apiKey)}, X-Keyward-Tenant: ${String(seen.tenant)}, the token's jti, ${seen.authorization ? "and the Authorization header (it should not)" : "and no Authorization header"}`,
      );
    }
    for (const role of SAMPLE_ROLES) {
      const rt = await this.#token(role.accessToken);
      await this.#expect(step, withToken(role.allowed, rt), 200);
    }
  }

  async denied(step: StepContext): Promise<void> {
    const t = this.#current ?? this.#remember(await this.#token(DEMO_TOKEN));
    await this.#expect(step, withToken({ method: "DELETE", path: ALLOWED_PATH }, t), 403);
    await this.#expect(step, withToken({ method: "GET", path: "/api/v0/datagrid/grids" }, t), 403);
    for (const role of SAMPLE_ROLES) {
      const rt = await this.#token(role.accessToken);
      await this.#expect(step, withToken(role.denied, rt), 403);
    }
    step.note("each sample role is refused where its policy ends; the api-token-issuer by an explicit Deny");
  }

  async unauthenticated(step: StepContext): Promise<void> {
    const r = await expectStatus(this.#ctx.verifier, { method: "GET", path: ALLOWED_PATH }, 401, this.#ctx.signal);
    step.check(r.ok, r.text);
    const challenge = r.answer.headers["www-authenticate"];
    step.check(typeof challenge === "string" && challenge.startsWith("Bearer"), `WWW-Authenticate: ${typeof challenge === "string" ? challenge : "(absent)"}`);
    const t = this.#current ?? (await this.#token(DEMO_TOKEN));
    await this.#expect(step, { method: "GET", path: ALLOWED_PATH, token: tamper(t.token), tokenLabel: `${label(t)} with one signature character changed` }, 401);
    await this.#expect(step, { method: "GET", path: ALLOWED_PATH, token: "not-a-jwt", tokenLabel: 'the bearer token "not-a-jwt"' }, 401);
  }

  async rotation(step: StepContext): Promise<void> {
    const { client, namespace, signal } = this.#ctx;
    const old = this.#current ?? this.#remember(await this.#token(DEMO_TOKEN));
    const before = await this.#apiKey();
    const plan = planRotate(before, Date.now());
    await client.mergePatch(Resources.apiKeys, { name: DEMO_API_KEY, namespace }, plan.patch, { signal });
    const patched = performance.now();
    step.note(`patched apikey ${DEMO_API_KEY}: spec.rotate="${plan.value}" (what kubectl keyward rotate ${DEMO_API_KEY} does)`);
    const prepared = await waitUntil(
      "a new key prepared",
      async () => {
        const key = await this.#apiKey();
        const p = key.status?.keys?.find((k) => k.state === "prepared" || (k.state === "active" && k.kid !== old.kid));
        return p === undefined ? { done: false, state: `keys: ${(key.status?.keys ?? []).map((k) => `${shortKid(k.kid)} ${k.state}`).join(", ")}` } : { done: true, value: p };
      },
      { timeoutMs: this.#ctx.timeoutMs, intervalMs: 50, signal, hint: this.#ctx.logHint },
    );
    step.note(
      `new key ${shortKid(prepared.kid)} published ${formatForPeople(performance.now() - patched)} after the patch${prepared.activatesAt === undefined ? "" : `; it signs from ${prepared.activatesAt}, once the policy's prePublish has passed`}`,
    );
    const { key, token } = await this.#settled(`AccessToken ${DEMO_TOKEN} re-issued with the new key`, DEMO_TOKEN, (k) =>
      k.status?.activeKid === old.kid ? `apikey ${DEMO_API_KEY}: key ${shortKid(old.kid)} still active` : null,
    );
    step.note(`AccessToken ${DEMO_TOKEN} re-issued with key ${shortKid(token.kid)} ${formatForPeople(performance.now() - patched)} after the patch; key ${shortKid(old.kid)} deposed`);
    this.#remember(token);
    this.#current = token;
    await this.#verifierCaughtUp(step, key, token);
    step.check(token.kid !== old.kid, `two kids: old ${shortKid(old.kid)}, new ${shortKid(token.kid)}`);
    await this.#expect(step, withToken({ method: "GET", path: ALLOWED_PATH }, old, "the old token"), 200);
    await this.#expect(step, withToken({ method: "GET", path: ALLOWED_PATH }, token, "the re-issued token"), 200);
  }

  async revokeOne(step: StepContext): Promise<void> {
    const { client, namespace, signal } = this.#ctx;
    const ci = await this.#token(DEMO_CI_TOKEN);
    const req = withToken({ method: "GET", path: ALLOWED_PATH }, ci);
    if (!(await this.#expect(step, req, 200))) return;
    const at = await client.get<AccessToken>(Resources.accessTokens, { name: DEMO_CI_TOKEN, namespace }, { signal });
    const patch = planRevokeToken(at);
    if (patch === null) throw new Error(`accesstoken ${DEMO_CI_TOKEN} is revoked already`);
    await client.mergePatch(Resources.accessTokens, { name: DEMO_CI_TOKEN, namespace }, patch, { signal });
    const accepted = performance.now();
    step.note(`patched accesstoken ${DEMO_CI_TOKEN}: spec.revoked=true (kubectl keyward revoke-token ${DEMO_CI_TOKEN}); polling every 20 ms`);
    const wait = await waitForStatus(this.#ctx.verifier, req, 401, { code: "ERR_TOKEN_REVOKED", timeoutMs: this.#ctx.timeoutMs, intervalMs: 20, since: accepted, signal });
    const seen = wait.last === undefined ? (wait.lastError ?? "no answer") : describeAnswer(wait.last);
    const requests = `${wait.attempts} ${wait.attempts === 1 ? "request" : "requests"}`;
    step.check(
      wait.ok && wait.elapsedMs <= this.#ctx.revocationBudgetMs,
      wait.ok
        ? `refused with 401 ERR_TOKEN_REVOKED ${formatForPeople(wait.elapsedMs)} after the API server accepted the patch (${requests}; budget ${formatForPeople(this.#ctx.revocationBudgetMs)})`
        : `still ${seen} ${formatForPeople(wait.elapsedMs)} after the patch (expected 401 ERR_TOKEN_REVOKED)`,
    );
    const current = this.#current ?? (await this.#token(DEMO_TOKEN));
    await this.#expect(step, withToken({ method: "GET", path: ALLOWED_PATH }, current, `${DEMO_TOKEN}'s token, same ApiKey, not revoked`), 200);
  }

  async revokeAll(step: StepContext): Promise<void> {
    const { client, namespace, signal } = this.#ctx;
    const before = await this.#apiKey();
    const latest = this.#current ?? this.#remember(await this.#token(DEMO_TOKEN));
    const plan = planRequest(before, "revokeAll", Date.now());
    const oldKids = new Set((before.status?.keys ?? []).map((k) => k.kid));
    await client.mergePatch(Resources.apiKeys, { name: DEMO_API_KEY, namespace }, plan.patch, { signal });
    const accepted = performance.now();
    step.note(`patched apikey ${DEMO_API_KEY}: spec.revokeAll="${plan.value}" (kubectl keyward revoke ${DEMO_API_KEY} --all)`);
    const wait = await waitForStatus(this.#ctx.verifier, withToken({ method: "GET", path: ALLOWED_PATH }, latest), 401, {
      timeoutMs: this.#ctx.timeoutMs,
      intervalMs: 20,
      since: accepted,
      signal,
    });
    step.check(
      wait.ok,
      wait.ok
        ? `${label(latest)} refused with ${wait.last === undefined ? "401" : describeAnswer(wait.last)} ${formatForPeople(wait.elapsedMs)} after the API server accepted the patch (polling every 20 ms)`
        : `${label(latest)} still ${wait.last === undefined ? String(wait.lastError) : describeAnswer(wait.last)} ${formatForPeople(wait.elapsedMs)} after the patch (expected 401)`,
    );
    const { key, token } = await this.#settled(`AccessToken ${DEMO_TOKEN} re-issued after revoke all`, DEMO_TOKEN, (k) => {
      const kids = (k.status?.keys ?? []).map((x) => x.kid);
      return kids.some((kid) => oldKids.has(kid)) ? `apikey ${DEMO_API_KEY}: old keys still listed (${kids.map(shortKid).join(", ")})` : null;
    });
    step.note(`every key replaced by ${shortKid(token.kid)}, active at once; AccessToken ${DEMO_TOKEN} re-issued ${formatForPeople(performance.now() - accepted)} after the patch`);
    await this.#verifierCaughtUp(step, key, token);
    for (const old of this.#tokens) {
      await this.#expect(step, withToken({ method: "GET", path: ALLOWED_PATH }, old, "an old token"), 401);
    }
    this.#remember(token);
    this.#current = token;
    await this.#expect(step, withToken({ method: "GET", path: ALLOWED_PATH }, token, "the re-issued token"), 200);
  }
}
