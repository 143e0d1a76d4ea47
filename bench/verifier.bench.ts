// Verifier throughput and latency: `npm run bench:verifier` (node bench/verifier.bench.ts).
//
// Starts a plain upstream (node:http answering a small JSON body) and the verifier in
// child processes, and drives them from this process with a load generator of its own:
// keep-alive connections writing pre-built HTTP/1.1 requests on raw sockets (cheaper per
// request than node:http's client, which matters when the generator shares the CPUs).
//
// Closed loop (N connections, each sending its next request when the answer is in) for:
//   direct     the upstream alone
//   minimal    a ten-line node:http reverse proxy, for reference: the cost of proxying in Node
//   minimal undici  the same with an undici Pool on the upstream side, as the verifier has
//   bare       the verifier's proxy with the check turned off (an internal option, no flag)
//   warm       the verifier in proxy mode, a small set of tokens (all cached)
//   cold       the verifier in proxy mode, a new token on every request (signature checked)
//   authz      the verifier in authz mode (Envoy convention), warm tokens, no upstream
// The load generator's own CPU time per request is reported next to the server's.
// Then open loop at a fixed rate, half of the bare proxy's peak, for direct, bare and warm:
// latency measured from each request's scheduled time, so queueing counts.
//
// The machine may be shared: scenarios run interleaved, in rounds (each scenario for a
// slice of every round), so a burst of background load spreads over all of them instead
// of falling on one. The load average before the run is reported with the figures.
//
// Writes the section "Verifier" of docs/benchmarks.md unless run with --no-write.
// Options: --rounds N (default 5), --slice SECONDS (default 2), --connections N (default 32).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, createServer, request as httpRequest, type OutgoingHttpHeaders } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { Pool, type Dispatcher } from "undici";
import { buildBundle, generateSigningKey, issueAccessTokenSync, publicJwkOf, serializeBundle, type Bundle, type PrivateJwk } from "../src/token/index.ts";
import { parseVerifierArgs, startVerifier } from "../src/verifier/index.ts";
import { CLOCK_TICKS_PER_SECOND, machine, processTicks } from "./lib/measure.ts";
import { benchSigner, writeSignedBundle } from "./lib/signing.ts";
import { formatRate, formatRatio, replaceSection, table } from "./lib/markdown.ts";

const SELF = fileURLToPath(import.meta.url);
const DOCS = join(SELF, "..", "..", "docs", "benchmarks.md");
const TENANT = "acme";
const ISSUER = "https://keyward.example";
const PATH = "/api/v0/datagrid/rows?limit=100";
const WARM_TOKENS = 64;
const COLD_TOKENS = 120_000;
const WARMUP_MS = 1000;

// ---------------------------------------------------------------- child roles

async function runUpstream(): Promise<void> {
  const body = Buffer.from('{"rows":[],"next":null}');
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  await new Promise(() => undefined);
}

/** The smallest node:http reverse proxy: no checks, no header rewriting, no error handling. */
async function runMinimalProxy(upstreamPort: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4096, maxFreeSockets: 256, scheduling: "lifo" });
  const server = createServer((req, res) => {
    const up = httpRequest({ agent, host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers: req.rawHeaders, setHost: false }, (ures) => {
      res.writeHead(ures.statusCode ?? 502, ures.rawHeaders);
      ures.pipe(res);
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  await new Promise(() => undefined);
}

/** The smallest undici reverse proxy: the same, with a keep-alive undici Pool on the upstream side. */
async function runMinimalUndiciProxy(upstreamPort: number): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 4096 });
  const server = createServer((req, res) => {
    pool.dispatch({ path: req.url ?? "/", method: req.method as Dispatcher.HttpMethod, headers: req.rawHeaders, body: null }, {
      onRequestStart() { /* no abort needed */ },
      onResponseStart(_c, status, headers) { res.writeHead(status, headers as OutgoingHttpHeaders); },
      onResponseData(_c, chunk) { res.write(chunk); },
      onResponseEnd() { res.end(); },
      onResponseError() { res.destroy(); },
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  await new Promise(() => undefined);
}

async function runVerifier(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { mode: { type: "string" }, upstream: { type: "string" }, bundle: { type: "string" }, trust: { type: "string" }, log: { type: "string" }, unchecked: { type: "boolean" } }, strict: false });
  const flags = [
    "--mode", String(values.mode), "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--tenant", TENANT,
    "--bundle-file", String(values.bundle), "--bundle-trust-file", String(values.trust), "--keep-alive-timeout", "60s", "--max-connections", "4096",
  ];
  if (values.mode === "proxy") flags.push("--upstream", String(values.upstream));
  const config = parseVerifierArgs(flags, {});
  const running = await startVerifier(config, {
    logDestination: pino.destination({ dest: String(values.log), sync: false }),
    uncheckedProxyForBenchmark: values.unchecked === true,
  });
  process.stdout.write(`${JSON.stringify({ port: running.address.port, generation: running.store.generation() })}\n`);
  await new Promise(() => undefined);
}

// ---------------------------------------------------------------- children

interface Child {
  port: number;
  process: ChildProcess;
}

async function spawnChild(args: string[]): Promise<Child> {
  const child = spawn(process.execPath, [SELF, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    child.once("exit", (code) => { reject(new Error(`bench child ${args.join(" ")} exited with ${code ?? "a signal"}`)); });
  });
  lines.close();
  child.stdout.resume();
  return { port: (JSON.parse(first) as { port: number }).port, process: child };
}

function stopChild(c: Child): Promise<void> {
  return new Promise((resolve) => {
    if (c.process.exitCode !== null) {
      resolve();
      return;
    }
    c.process.once("exit", () => { resolve(); });
    c.process.kill("SIGTERM");
  });
}

// ---------------------------------------------------------------- load generator

/** A keep-alive HTTP/1.1 connection that sends one request at a time. */
class Connection {
  readonly #port: number;
  #socket: Socket | null = null;
  #buffer: Buffer = Buffer.alloc(0);
  #done: ((status: number) => void) | null = null;
  #failed: ((err: Error) => void) | null = null;

  constructor(port: number) {
    this.#port = port;
  }

  #open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(this.#port, "127.0.0.1");
      socket.setNoDelay(true);
      socket.once("connect", () => { resolve(socket); });
      socket.once("error", reject);
      socket.on("data", (chunk: Buffer) => { this.#onData(chunk); });
      socket.on("close", () => {
        if (this.#socket === socket) this.#socket = null;
        const failed = this.#failed;
        this.#done = null;
        this.#failed = null;
        failed?.(new Error("connection closed"));
      });
    });
  }

  async send(request: Buffer): Promise<number> {
    this.#socket ??= await this.#open();
    this.#buffer = Buffer.alloc(0);
    const answer = new Promise<number>((resolve, reject) => {
      this.#done = resolve;
      this.#failed = reject;
    });
    this.#socket.write(request);
    return answer;
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = this.#buffer.toString("latin1", 0, end);
    const status = Number(head.slice(9, 12));
    let complete: boolean;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (length !== null) complete = this.#buffer.length >= end + 4 + Number(length[1]);
    else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) complete = this.#buffer.indexOf("0\r\n\r\n", end + 4) >= 0;
    else complete = true;
    if (!complete) return;
    if (/\r\nconnection:\s*close/i.test(head)) this.#socket?.destroy();
    const done = this.#done;
    this.#done = null;
    this.#failed = null;
    done?.(status);
  }

  close(): void {
    this.#socket?.destroy();
  }
}

function request(token: string | null): Buffer {
  return Buffer.from(`GET ${PATH} HTTP/1.1\r\nHost: bench.local\r\n${token === null ? "" : `Authorization: Bearer ${token}\r\n`}Accept: application/json\r\n\r\n`, "latin1");
}

class Latencies {
  #values = new Float64Array(1 << 16);
  #n = 0;
  add(ms: number): void {
    if (this.#n === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#n++] = ms;
  }
  get count(): number {
    return this.#n;
  }
  /** The p-th percentile of the values added from index `from` on. */
  percentile(p: number, from = 0): number {
    const n = this.#n - from;
    const sorted = this.#values.slice(from, this.#n).sort();
    return sorted[Math.min(n - 1, Math.floor((p / 100) * n))] ?? NaN;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Result {
  requests: number;
  errors: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  /** CPU time of the server under test per request, in µs. */
  cpuPerRequest: number;
  /** CPU time of the load generator (this process) per request, in µs. */
  generatorCpuPerRequest: number;
}

/**
 * Requests, errors, time and latencies of one scenario over the rounds. Its rate and
 * percentiles are the medians of the rounds' own: a round hit by background load does not
 * decide the figure.
 */
class Tally {
  readonly lat = new Latencies();
  readonly rates: number[] = [];
  readonly p50s: number[] = [];
  readonly p99s: number[] = [];
  errors = 0;
  seconds = 0;
  /** CPU time (clock ticks) of the server under test while measured. */
  cpuTicks = 0;
  /** CPU time (µs) of the load generator while measured. */
  generatorCpuMicros = 0;
  #counted = 0;
  /** Closes a round that ran for `seconds`. */
  round(seconds: number): void {
    this.rates.push((this.lat.count - this.#counted) / seconds);
    this.p50s.push(this.lat.percentile(50, this.#counted));
    this.p99s.push(this.lat.percentile(99, this.#counted));
    this.#counted = this.lat.count;
    this.seconds += seconds;
  }
  result(): Result {
    const cpuPerRequest = (this.cpuTicks * (1e6 / CLOCK_TICKS_PER_SECOND)) / this.lat.count;
    return { requests: this.lat.count, errors: this.errors, seconds: this.seconds, rate: median(this.rates), p50: median(this.p50s), p99: median(this.p99s), cpuPerRequest, generatorCpuPerRequest: this.generatorCpuMicros / this.lat.count };
  }
}

/** Closed loop: `connections` senders, each sending the next request when the answer is in. */
async function closedLoop(port: number, requests: Buffer[], connections: number, durationMs: number, tally: Tally, cursor: { next: number }, serverPid: number): Promise<void> {
  const conns = Array.from({ length: connections }, () => new Connection(port));
  const nextRequest = (): Buffer => requests[cursor.next++ % requests.length]!;
  let measuring = false;
  let stop = false;
  const lat = tally.lat;
  const loops = conns.map(async (c) => {
    while (!stop) {
      const t0 = performance.now();
      let status: number;
      try {
        status = await c.send(nextRequest());
      } catch {
        status = 0;
      }
      if (!measuring) continue;
      lat.add(performance.now() - t0);
      if (status !== 200) tally.errors++;
    }
  });
  await sleep(WARMUP_MS);
  const ticksBefore = processTicks(serverPid);
  const generatorBefore = process.cpuUsage();
  measuring = true;
  const started = performance.now();
  await sleep(durationMs);
  measuring = false;
  const generator = process.cpuUsage(generatorBefore);
  tally.cpuTicks += processTicks(serverPid) - ticksBefore;
  tally.generatorCpuMicros += generator.user + generator.system;
  tally.round((performance.now() - started) / 1000);
  stop = true;
  await Promise.all(loops);
  for (const c of conns) c.close();
}

/**
 * Open loop at `rate` requests/s: requests are due at fixed times whether or not earlier
 * ones have been answered; each waits for a free connection, and its latency runs from
 * the time it was due.
 */
async function openLoop(port: number, requests: Buffer[], rate: number, connections: number, durationMs: number, tally: Tally): Promise<void> {
  const idle = Array.from({ length: connections }, () => new Connection(port));
  const queue: number[] = [];
  const lat = tally.lat;
  let next = 0;
  let measuring = false;
  let inFlight = 0;
  const interval = 1000 / rate;
  const fire = (due: number, c: Connection): void => {
    inFlight++;
    const measured = measuring;
    c.send(requests[next++ % requests.length]!).then(
      (status) => {
        if (measured) {
          lat.add(performance.now() - due);
          if (status !== 200) tally.errors++;
        }
      },
      () => {
        if (measured) tally.errors++;
      },
    ).finally(() => {
      inFlight--;
      const waiting = queue.shift();
      if (waiting === undefined) idle.push(c);
      else fire(waiting, c);
    });
  };
  const start = performance.now();
  const measureFrom = start + WARMUP_MS;
  const end = measureFrom + durationMs;
  let due = start;
  while (due < end) {
    const now = performance.now();
    measuring = now >= measureFrom;
    while (due <= now && due < end) {
      const c = idle.pop();
      if (c === undefined) queue.push(due);
      else fire(due, c);
      due += interval;
    }
    // A timer tick, not a busy loop: the generator must not take a core from the servers.
    await sleep(1);
  }
  measuring = false;
  while (inFlight > 0 || queue.length > 0) await sleep(5);
  for (const c of idle) c.close();
  tally.round(durationMs / 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- setup

function makeBundle(key: PrivateJwk, others: PrivateJwk[], nowMs: number): Bundle {
  // A tenant of realistic size: 10 ApiKeys, 20 policies, 1000 revoked tokens.
  const apiKeys: Bundle["apiKeys"] = {};
  const policies: Bundle["policies"] = {};
  for (let i = 0; i < 20; i++) {
    policies[`policy-${i}`] = {
      rules: [
        { effect: "Deny", methods: ["*"], paths: [`/api/v0/admin/${i}/**`] },
        { effect: "Allow", methods: ["GET", "HEAD"], paths: [`/api/v0/area-${i}/**`, `/api/v0/area-${i}/*/items`] },
        { effect: "Allow", methods: ["POST"], paths: [`/api/v0/area-${i}/jobs`] },
      ],
    };
  }
  policies["datagrid-read"] = { rules: [{ effect: "Deny", methods: ["*"], paths: ["/api/v0/admin/**"] }, { effect: "Allow", methods: ["GET", "HEAD"], paths: ["/api/v0/datagrid/**"] }] };
  apiKeys.reporting = { uid: "u-reporting", policies: ["policy-0", "policy-1", "policy-2", "datagrid-read"], suspended: false, revokedBefore: null, allowNonExpiring: false };
  others.forEach((_, i) => {
    apiKeys[`key-${i}`] = { uid: `u-${i}`, policies: [`policy-${i}`, `policy-${i + 5}`], suspended: false, revokedBefore: null, allowNonExpiring: false };
  });
  const exp = Math.floor(nowMs / 1000) + 3600;
  return buildBundle({
    tenant: TENANT, issuer: ISSUER, generation: 1, generatedAt: new Date(nowMs).toISOString(),
    keys: [{ ...publicJwkOf(key), apiKey: "reporting", state: "active", notAfter: null }, ...others.map((k, i) => ({ ...publicJwkOf(k), apiKey: `key-${i}`, state: "active" as const, notAfter: null }))],
    apiKeys,
    policies,
    revoked: Array.from({ length: 1000 }, (_, i) => ({ jti: `revoked-${i.toString(36).padStart(6, "0")}`, apiKey: "reporting", exp })),
  });
}


/** Busy and total CPU time of the machine, and of the given processes, in clock ticks (Linux). */
function cpuTicks(pids: number[]): { busy: number; total: number; ours: number } | null {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    let ours = 0;
    for (const pid of pids) ours += processTicks(pid);
    return { busy: total - idle, total, ours };
  } catch {
    return null;
  }
}

interface Scenario {
  name: string;
  what: string;
  port: number;
  /** The process whose CPU time is the scenario's cost: the upstream, the proxy, or the authz server. */
  pid: number;
  requests: Buffer[];
  /** Compared with the proxies (false for authz, which has no upstream). */
  proxied: boolean;
  tally: Tally;
  cursor: { next: number };
}

function cpu(us: number): string {
  return Number.isFinite(us) ? us.toFixed(0) : "—";
}

/** "N µs more" or "N µs less". */
function moreOrLess(us: number): string {
  return `${cpu(Math.abs(us))} µs ${us >= 0 ? "more" : "less"}`;
}

function ms(v: number): string {
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "no-write": { type: "boolean" }, rounds: { type: "string" }, slice: { type: "string" }, connections: { type: "string" } } });
  const rounds = Number(values.rounds ?? "5");
  const sliceMs = Number(values.slice ?? "2") * 1000;
  const connections = Number(values.connections ?? "32");
  const load = loadavg().map((l) => l.toFixed(2)).join(", ");
  const dir = mkdtempSync(join(tmpdir(), "keyward-bench-"));
  const children: Child[] = [];
  try {
    const nowMs = Date.now();
    const key = await generateSigningKey();
    const others = await Promise.all(Array.from({ length: 9 }, () => generateSigningKey()));
    // The bundle in a directory of its own: the file source watches that directory, and the
    // verifiers' logs written elsewhere must not wake it.
    mkdirSync(join(dir, "bundle"));
    mkdirSync(join(dir, "logs"));
    const bundleFile = join(dir, "bundle", "bundle.json");
    const signer = await benchSigner(dir);
    writeSignedBundle(join(dir, "bundle"), serializeBundle(makeBundle(key, others, nowMs)), signer);
    const issue = (): string => issueAccessTokenSync({ key, issuer: ISSUER, apiKey: "reporting", tenant: TENANT, now: new Date(nowMs - 1000), lifetimeSeconds: 3600 }).token;
    const warm = Array.from({ length: WARM_TOKENS }, () => request(issue()));
    process.stderr.write(`issuing ${COLD_TOKENS} tokens for the cold run…\n`);
    const cold = Array.from({ length: COLD_TOKENS }, () => request(issue()));

    const spawnTracked = async (args: string[]): Promise<Child> => {
      const c = await spawnChild(args);
      children.push(c);
      return c;
    };
    const upstream = await spawnTracked(["--role", "upstream"]);
    const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
    const minimal = await spawnTracked(["--role", "minimal-proxy", String(upstream.port)]);
    const minimalUndici = await spawnTracked(["--role", "minimal-undici-proxy", String(upstream.port)]);
    const verifier = (mode: string, unchecked: boolean): Promise<Child> =>
      spawnTracked(["--role", "verifier", "--mode", mode, "--upstream", upstreamUrl, "--bundle", bundleFile, "--trust", signer.trustFile, "--log", join(dir, "logs", `${mode}-${unchecked ? "bare" : "checked"}-${children.length}.log`), ...(unchecked ? ["--unchecked"] : [])]);
    const bare = await verifier("proxy", true);
    const proxy = await verifier("proxy", false);
    // Its own process, so the warm one's token cache and heap are not disturbed by it.
    const proxyCold = await verifier("proxy", false);
    const authz = await verifier("authz", false);

    const scenario = (name: string, what: string, server: Child, requests: Buffer[], proxied = true): Scenario =>
      ({ name, what, port: server.port, pid: server.process.pid!, requests, proxied, tally: new Tally(), cursor: { next: 0 } });
    const direct = scenario("direct", "the upstream alone", upstream, warm);
    const minimalProxy = scenario("minimal node:http proxy", "reference: 10 lines, no checks, no header handling", minimal, warm);
    const minimalUndiciProxy = scenario("minimal undici proxy", "reference: the same on an undici Pool", minimalUndici, warm);
    const bareProxy = scenario("bare proxy", "the verifier's proxy, check off", bare, warm);
    const warmRun = scenario("verifier, warm tokens", `proxy mode, ${WARM_TOKENS} tokens cycled (cached)`, proxy, warm);
    const coldRun = scenario("verifier, every token new", "proxy mode, a new token per request", proxyCold, cold);
    const authzRun = scenario("authz, warm tokens", "authz mode, Envoy convention, no upstream", authz, warm, false);
    const closed = [direct, minimalProxy, minimalUndiciProxy, bareProxy, warmRun, coldRun, authzRun];

    const pids = (): number[] => [process.pid, ...children.map((c) => c.process.pid!)];
    const cpuBefore = cpuTicks(pids());
    for (let r = 1; r <= rounds; r++) {
      process.stderr.write(`closed loop, round ${r}/${rounds}…\n`);
      for (const sc of closed) await closedLoop(sc.port, sc.requests, connections, sliceMs, sc.tally, sc.cursor, sc.pid);
    }
    const results = new Map(closed.map((sc) => [sc, sc.tally.result()]));
    const res = (sc: Scenario): Result => results.get(sc)!;

    const openRate = Math.max(100, Math.round(res(bareProxy).rate / 2 / 100) * 100);
    const openConnections = 64;
    const open = [scenario("direct", "", upstream, warm), scenario("bare proxy", "", bare, warm), scenario("verifier, warm tokens", "", proxy, warm)];
    for (let r = 1; r <= rounds; r++) {
      process.stderr.write(`open loop at ${openRate} req/s, round ${r}/${rounds}…\n`);
      for (const sc of open) await openLoop(sc.port, sc.requests, openRate, openConnections, sliceMs, sc.tally);
    }
    const [openDirect, openBare, openWarm] = open.map((sc) => sc.tally.result()) as [Result, Result, Result];
    const cpuAfter = cpuTicks(pids());
    const otherLoad = cpuBefore === null || cpuAfter === null ? null
      : Math.max(0, (cpuAfter.busy - cpuBefore.busy - (cpuAfter.ours - cpuBefore.ours)) / (cpuAfter.total - cpuBefore.total));

    const noisy = otherLoad !== null && otherLoad > 0.1;
    const m = machine();
    const errors = closed.reduce((n, sc) => n + res(sc).errors, 0) + openDirect.errors + openBare.errors + openWarm.errors;
    const rows = closed.map((sc) => {
      const r = res(sc);
      return [sc.name, sc.what, formatRate(r.rate), ms(r.p50), ms(r.p99), sc.proxied ? formatRatio(r.rate / res(bareProxy).rate) : "—", sc.proxied ? formatRatio(r.rate / res(direct).rate) : "—", cpu(r.cpuPerRequest), cpu(r.generatorCpuPerRequest)];
    });
    const warmRatio = res(warmRun).rate / res(bareProxy).rate;
    const bareRatio = res(bareProxy).rate / res(direct).rate;
    const added = openWarm.p99 - openBare.p99;
    const targets = [
      ["verifier (warm) ≥ 0.85× bare proxy", formatRatio(warmRatio), warmRatio >= 0.85],
      ["p99 added ≤ 1 ms at half the bare proxy's peak", `${ms(added)} ms`, added <= 1],
      ["bare proxy ≥ 0.5× direct", formatRatio(bareRatio), bareRatio >= 0.5],
      ["authz ≥ 10,000 decisions/s (warm)", formatRate(res(authzRun).rate), res(authzRun).rate >= 10_000],
    ] as const;
    // The CPU model of the ratio bare proxy ÷ direct (see the text below), in µs per request.
    const L = res(direct).generatorCpuPerRequest;
    const U = res(direct).cpuPerRequest;
    const P = res(bareProxy).cpuPerRequest;
    const cores = m.nproc;
    const directBound = 1e6 * Math.min(cores / (L + U), 1 / Math.max(L, U));
    const proxiedBound = 1e6 * Math.min(cores / (L + U + P), 1 / Math.max(L, U, P));
    // The P at which the proxied bound is half the direct one.
    const pForHalf = (2 * cores * 1e6) / directBound - L - U;
    const body = [
      "`npm run bench:verifier` (node bench/verifier.bench.ts): an upstream (node:http answering a 23-byte JSON",
      "body), two minimal proxies for reference (node:http server with a node:http client, and node:http server with",
      "an undici Pool, as the verifier has), and the verifier (bare proxy, proxy mode, authz mode) in child processes,",
      "driven from the bench process by its own load generator (keep-alive raw-socket HTTP/1.1 connections).",
      "",
      `**The load generator shares the machine's ${m.nproc} cores with the servers**: the generator, the proxy and the`,
      "upstream all compete for them, so absolute figures are lower than with the generator on another machine, and",
      "each extra process in the path (the proxy) also takes CPU from the generator and the upstream. The machine may",
      `also be shared with other work: load average before the run was ${load}${otherLoad === null ? "" : `, and other processes used ${Math.round(otherLoad * 100)}% of the machine's CPU time during it`}. Scenarios run interleaved in`,
      `${rounds} rounds of ${sliceMs / 1000} s each (after a ${WARMUP_MS / 1000} s warm-up per slice), so background load spreads over all of them;`,
      "req/s and latency percentiles are the medians of the rounds' own figures.",
      "",
      `Machine: ${m.nproc} × ${m.cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${m.node}. Bundle: 10 ApiKeys, 21 policies,`,
      `1000 revoked tokens, EdDSA keys. Request: \`GET ${PATH}\` with a bearer token.`,
      "",
      `Closed loop, ${connections} connections; latency in ms:`,
      "",
      table(["scenario", "setup", "req/s", "p50", "p99", "× bare proxy", "× direct", "server CPU µs/req", "generator CPU µs/req"], rows),
      "",
      "Server CPU µs/req is the CPU time (user + system) of the process under test (the upstream for direct, the proxy,",
      "or the authz server) divided by the requests it answered: unlike req/s it hardly depends on what else runs.",
      `By that measure the check costs ${cpu(res(warmRun).cpuPerRequest - res(bareProxy).cpuPerRequest)} µs per request with warm tokens`,
      `(${formatRatio(res(bareProxy).cpuPerRequest / res(warmRun).cpuPerRequest)} of the bare proxy's requests per CPU-second) and`,
      `${cpu(res(coldRun).cpuPerRequest - res(bareProxy).cpuPerRequest)} µs when every token is new (signature verified); the verifier's own proxying costs`,
      `${moreOrLess(res(bareProxy).cpuPerRequest - res(minimalUndiciProxy).cpuPerRequest)} than the minimal undici proxy's (which has no header rewriting, framing, timeouts or error handling),`,
      `and the minimal undici proxy costs ${cpu(res(minimalUndiciProxy).cpuPerRequest)} µs against the minimal node:http proxy's ${cpu(res(minimalProxy).cpuPerRequest)}.`,
      "",
      `Where the CPU goes, per request: the load generator L = ${cpu(L)} µs (direct; ${cpu(res(bareProxy).generatorCpuPerRequest)} µs through the bare proxy), the upstream`,
      `U = ${cpu(U)} µs, the bare proxy P = ${cpu(P)} µs (a server side and a client side). Each is one single-threaded process and`,
      `the three share ${m.nproc} cores, so throughput is at most min(${m.nproc}/(L+U), 1/max(L, U)) direct and min(${m.nproc}/(L+U+P), 1/max(L, U, P)) through`,
      `the proxy: ${formatRate(directBound)} and ${formatRate(proxiedBound)} req/s, a ratio of ${formatRatio(proxiedBound / directBound)} (measured: ${formatRatio(bareRatio)}, reaching ${Math.round((100 * res(direct).rate) / directBound)} % and ${Math.round((100 * res(bareProxy).rate) / proxiedBound)} % of the bounds).`,
      ...(bareRatio >= 0.5 ? [] : [
        `A bound of 0.5× would need P ≤ ${cpu(pForHalf)} µs, less than the ${cpu(res(minimalUndiciProxy).cpuPerRequest)} µs of the minimal undici proxy and the ${cpu(res(minimalProxy).cpuPerRequest)} µs of the minimal node:http`,
        "one: on this machine, with the generator on the same cores, no Node.js proxy reaches the target; it measures the",
        "machine's layout as much as the proxy.",
      ]),
      "",
      `Open loop at ${formatRate(openRate)} req/s (half the bare proxy's peak), ${openConnections} connections, latency from each`,
      "request's scheduled time (queueing included):",
      "",
      table(["target", "req/s", "p50", "p99"], [
        ["direct", formatRate(openDirect.rate), ms(openDirect.p50), ms(openDirect.p99)],
        ["bare proxy", formatRate(openBare.rate), ms(openBare.p50), ms(openBare.p99)],
        ["verifier, warm tokens", formatRate(openWarm.rate), ms(openWarm.p50), ms(openWarm.p99)],
      ]),
      "",
      `p99 added by the check (verifier − bare proxy): ${ms(added)} ms; by the whole sidecar (verifier − direct): ${ms(openWarm.p99 - openDirect.p99)} ms.`,
      ...(added < 0 ? ["The bare proxy's p99 was the higher one in this run. On a shared machine a p99 at this rate moves by several ms from", "run to run, more than the 1 ms of the target: one run does not settle it either way."] : []),
      "An earlier version's warm verifier added about 29 ms here: garbage-collection pauses, described under Performance in",
      "[verifier.md](verifier.md#performance).",
      "",
      table(["target", "measured", "met"], targets.map(([t, v, ok]) => [t, v, `${ok ? "yes" : "**no**"}${noisy ? " †" : ""}`])),
      "",
      ...(noisy ? [`† Other processes used ${Math.round(otherLoad * 100)}% of the machine's CPU time during the run: the figures, latency above all, measure the machine's load as much as the verifier. Run again on a quiet machine before relying on them.`, ""] : []),
      errors === 0 ? "Every request was answered 200." : `**${errors} requests were not answered 200.**`,
      "",
    ].join("\n");
    process.stdout.write(`${body}\n`);
    if (values["no-write"] !== true) {
      replaceSection(DOCS, "Verifier", body);
      process.stderr.write(`wrote the section "Verifier" of ${DOCS}\n`);
    }
  } finally {
    await Promise.all(children.map(stopChild));
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv.indexOf("--role");
if (role >= 0) {
  process.once("SIGTERM", () => process.exit(0));
  const name = process.argv[role + 1];
  const rest = process.argv.slice(role + 2);
  if (name === "upstream") await runUpstream();
  else if (name === "minimal-proxy") await runMinimalProxy(Number(rest[0]));
  else if (name === "minimal-undici-proxy") await runMinimalUndiciProxy(Number(rest[0]));
  else if (name === "verifier") await runVerifier(rest);
  else throw new Error(`unknown bench role ${String(name)}`);
} else {
  await main();
}
