// The authz mode over HTTP and over gRPC (Envoy ext_authz), in one run: `npm run bench:ext-authz`.
//
// One verifier in authz mode, in a child process, serves both forms from the same decider:
// HTTP on --listen (Envoy's HTTP ext_authz convention) and gRPC on --grpc-listen
// (envoy.service.auth.v3.Authorization/Check). This process drives each in a closed loop with
// N calls in flight, warm tokens: HTTP through an undici Pool of keep-alive connections, gRPC
// through one @grpc/grpc-js channel (HTTP/2, as Envoy calls it). The two alternate in rounds,
// so background load falls on both. Reported: decisions per second, and CPU time per decision
// of the verifier's process and of this load generator (from /proc: comparable across runs on
// a shared machine, unlike the rate).
//
// Writes the section "Verifier: gRPC ext_authz" of docs/benchmarks.md unless --no-write.
// Options: --rounds N (default 5), --slice SECONDS (default 2), --in-flight N (default 32).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { credentials, loadPackageDefinition, type ServiceClientConstructor } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import { pino } from "pino";
import { Pool } from "undici";
import { buildBundle, generateSigningKey, issueAccessTokenSync, publicJwkOf, serializeBundle } from "../src/token/index.ts";
import { ENVOY_EXT_AUTHZ_DESCRIPTORS } from "../src/verifier/grpc/envoy-descriptors.generated.ts";
import { parseVerifierArgs, startVerifier } from "../src/verifier/index.ts";
import { CLOCK_TICKS_PER_SECOND, machine, processTicks } from "./lib/measure.ts";
import { formatRate, formatRatio, replaceSection, table } from "./lib/markdown.ts";
import { benchSigner, writeSignedBundle } from "./lib/signing.ts";

const SELF = fileURLToPath(import.meta.url);
const DOCS = join(SELF, "..", "..", "docs", "benchmarks.md");
const TENANT = "acme";
const ISSUER = "https://keyward.example";
const PATH = "/api/v0/datagrid/rows?limit=100";

async function runVerifier(bundle: string, trust: string, log: string): Promise<void> {
  const config = parseVerifierArgs(
    ["--mode", "authz", "--listen", "127.0.0.1:0", "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "off", "--tenant", TENANT, "--bundle-file", bundle, "--bundle-trust-file", trust, "--keep-alive-timeout", "60s"],
    {},
  );
  const running = await startVerifier(config, { logDestination: pino.destination({ dest: log, sync: false }) });
  process.stdout.write(`${JSON.stringify({ http: running.address.port, grpc: running.grpcAddress!.port })}\n`);
  await new Promise(() => undefined);
}


interface Tally {
  decisions: number;
  errors: number;
  seconds: number;
  serverTicks: number;
  generatorMicros: number;
}

/** Runs `call` with `inFlight` concurrent loops for `ms`; adds to the tally. */
async function closedLoop(call: () => Promise<boolean>, inFlight: number, ms: number, serverPid: number, tally: Tally): Promise<void> {
  const until = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  const t0 = processTicks(serverPid);
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until) {
        if (await call()) tally.decisions++;
        else tally.errors++;
      }
    }),
  );
  tally.seconds += (performance.now() - start) / 1000;
  tally.serverTicks += processTicks(serverPid) - t0;
  const cpu = process.cpuUsage(cpu0);
  tally.generatorMicros += cpu.user + cpu.system;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "no-write": { type: "boolean" }, rounds: { type: "string" }, slice: { type: "string" }, "in-flight": { type: "string" } } });
  const rounds = Number(values.rounds ?? "5");
  const sliceMs = Number(values.slice ?? "2") * 1000;
  const inFlight = Number(values["in-flight"] ?? "32");
  const load = loadavg().map((l) => l.toFixed(2)).join(", ");
  const dir = mkdtempSync(join(tmpdir(), "keyward-bench-ext-authz-"));
  let child: ChildProcess | undefined;
  try {
    const nowMs = Date.now();
    const key = await generateSigningKey();
    const bundleFile = join(dir, "bundle.json");
    const signer = await benchSigner(dir);
    writeSignedBundle(
      dir,
      serializeBundle(
        buildBundle({
          tenant: TENANT, issuer: ISSUER, generation: 1, generatedAt: new Date(nowMs).toISOString(),
          keys: [{ ...publicJwkOf(key), apiKey: "reporting", state: "active", notAfter: null }],
          apiKeys: { reporting: { uid: "u-reporting", policies: ["datagrid-read"], suspended: false, revokedBefore: null, allowNonExpiring: false } },
          policies: { "datagrid-read": { rules: [{ effect: "Deny", methods: ["*"], paths: ["/api/v0/admin/**"] }, { effect: "Allow", methods: ["GET", "HEAD"], paths: ["/api/v0/datagrid/**"] }] } },
          revoked: Array.from({ length: 1000 }, (_, i) => ({ jti: `revoked-${i.toString(36).padStart(6, "0")}`, apiKey: "reporting", exp: Math.floor(nowMs / 1000) + 3600 })),
        }),
      ),
      signer,
    );
    const tokens = Array.from({ length: 64 }, () => issueAccessTokenSync({ key, issuer: ISSUER, apiKey: "reporting", tenant: TENANT, now: new Date(nowMs - 1000), lifetimeSeconds: 3600 }).token);

    child = spawn(process.execPath, [SELF, "--role", "verifier", bundleFile, signer.trustFile, join(dir, "verifier.log")], { stdio: ["ignore", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout! });
    const ports = JSON.parse(await new Promise<string>((resolve) => lines.once("line", resolve))) as { http: number; grpc: number };
    lines.close();
    const pid = child.pid!;

    const pool = new Pool(`http://127.0.0.1:${ports.http}`, { connections: inFlight, pipelining: 1 });
    let i = 0;
    const http = async (): Promise<boolean> => {
      const token = tokens[i++ % tokens.length]!;
      const res = await pool.request({ method: "GET", path: PATH, headers: { authorization: `Bearer ${token}`, host: "api.example" } });
      await res.body.dump();
      return res.statusCode === 200;
    };
    const definition = loadFileDescriptorSetFromBuffer(Buffer.from(ENVOY_EXT_AUTHZ_DESCRIPTORS, "base64"), { keepCase: true, enums: String, longs: String, defaults: false, oneofs: true });
    const Authorization = (loadPackageDefinition(definition) as unknown as { envoy: { service: { auth: { v3: { Authorization: ServiceClientConstructor } } } } }).envoy.service.auth.v3.Authorization;
    const client = new Authorization(`127.0.0.1:${ports.grpc}`, credentials.createInsecure()) as unknown as {
      Check(req: unknown, cb: (err: Error | null, res: { status?: { code?: number } }) => void): void;
      close(): void;
    };
    const grpc = (): Promise<boolean> => {
      const token = tokens[i++ % tokens.length]!;
      const req = { attributes: { request: { http: { method: "GET", path: PATH, headers: [{ key: "authorization", value: `Bearer ${token}` }, { key: "host", value: "api.example" }] } } } };
      return new Promise((resolve) => {
        client.Check(req, (err, res) => {
          resolve(err === null && (res.status?.code ?? 0) === 0);
        });
      });
    };

    const forms = [
      { name: "HTTP (Envoy HTTP ext_authz convention)", call: http, tally: { decisions: 0, errors: 0, seconds: 0, serverTicks: 0, generatorMicros: 0 } },
      { name: "gRPC (envoy.service.auth.v3.Authorization/Check)", call: grpc, tally: { decisions: 0, errors: 0, seconds: 0, serverTicks: 0, generatorMicros: 0 } },
    ];
    for (const f of forms) await closedLoop(f.call, inFlight, 1000, pid, { decisions: 0, errors: 0, seconds: 0, serverTicks: 0, generatorMicros: 0 }); // warm-up
    for (let r = 1; r <= rounds; r++) {
      process.stderr.write(`round ${r}/${rounds}…\n`);
      for (const f of forms) await closedLoop(f.call, inFlight, sliceMs, pid, f.tally);
    }
    client.close();
    await pool.close();

    const perDecision = (t: Tally): { rate: number; server: number; generator: number } => ({
      rate: t.decisions / t.seconds,
      server: ((t.serverTicks / CLOCK_TICKS_PER_SECOND) * 1e6) / t.decisions,
      generator: t.generatorMicros / t.decisions,
    });
    const [h, g] = forms.map((f) => perDecision(f.tally)) as [ReturnType<typeof perDecision>, ReturnType<typeof perDecision>];
    const m = machine();
    const rows = forms.map((f) => {
      const p = perDecision(f.tally);
      return [f.name, formatRate(p.rate), p.server.toFixed(0), p.generator.toFixed(0), String(f.tally.errors)];
    });
    const body = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${m.nproc} × ${m.cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${m.node}; load average before the run ${load}.`,
      `Command: \`hack/dev bench:ext-authz\` (${rounds} rounds of ${sliceMs / 1000} s per form, ${inFlight} calls in flight, 64 warm tokens, a bundle with 1,000 revocations).`,
      "",
      "One verifier process in authz mode serves both forms from the same decider; this process is the load generator.",
      "CPU per decision is the verifier's process time divided by the decisions it answered (comparable across runs);",
      "decisions/s depends on what else runs on the shared 2 cores, so compare the two rows of one run only.",
      "",
      table(["form", "decisions/s", "verifier CPU per decision (µs)", "generator CPU per decision (µs)", "errors"], rows),
      "",
      `gRPC ÷ HTTP: ${formatRatio(g.rate / h.rate)} the decisions per second, ${formatRatio(g.server / h.server)} the verifier's CPU per decision.`,
      "The decision is the same code in both; the difference is the transport (@grpc/grpc-js's HTTP/2 and protobuf",
      "messages decoded through reflection over Envoy's descriptors). Not profiled yet: where those microseconds go is open.",
    ].join("\n");
    process.stdout.write(`${body}\n`);
    if (values["no-write"] !== true) replaceSection(DOCS, "Verifier: gRPC ext_authz", body);
  } finally {
    child?.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv.indexOf("--role");
if (role >= 0) {
  await runVerifier(process.argv[role + 2]!, process.argv[role + 3]!, process.argv[role + 4]!);
} else {
  await main();
}
