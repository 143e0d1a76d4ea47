// What signing bundles costs, in one run and interleaved:
//
//   verifier   loading a bundle into a fresh BundleStore (parse, validate, compile) with the
//              signature checked against the trusted key, and without (--insecure-allow-unsigned-bundles)
//   controller the CPU of one bundle write's planning: planBundle alone (as before signing), and
//              planBundle + planSignature (a new Ed25519 signature over bundle.json)
//
// A tenant of 50 ApiKeys (one Ed25519 key each, one AccessPolicy each) and 1,000 revocations.
//
//   hack/dev bench:bundle-signing [--rounds 200] [--no-write]

import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { planBundle, type PlanBundleInput } from "../src/controller/bundle/plan.ts";
import { planSignature } from "../src/controller/bundle/sign.ts";
import {
  bundleSignerOf,
  generateSigningKey,
  parseTrustSet,
  publicJwkOf,
  signBundle,
  TokenVerifier,
  type BundleKey,
  type PrivateJwk,
} from "../src/token/index.ts";
import { BundleStore } from "../src/verifier/bundle/store.ts";
import { createLogger } from "../src/verifier/log.ts";
import { VerifierMetrics } from "../src/verifier/metrics.ts";
import { machine } from "./lib/measure.ts";
import { replaceSection, table } from "./lib/markdown.ts";

const TENANT = "acme";
const API_KEYS = 50;
const REVOKED = 1000;

const { values } = parseArgs({ options: { rounds: { type: "string" }, "no-write": { type: "boolean" } } });
const rounds = Number(values.rounds ?? "200");

function cpuMs(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const load = loadavg().map((l) => l.toFixed(2)).join(", ");
  const now = new Date();
  const keys: PrivateJwk[] = await Promise.all(Array.from({ length: API_KEYS }, () => generateSigningKey("EdDSA")));
  const input: PlanBundleInput = {
    tenant: TENANT,
    issuer: "https://keyward.example",
    now,
    apiKeys: keys.map((k, i): PlanBundleInput["apiKeys"][number] => ({
      name: `key-${i}`, uid: `uid-${i}`, deleting: false, suspended: false, policies: [`policy-${i}`], revokedBefore: null, allowNonExpiring: false,
      keys: [{ ...publicJwkOf(k), apiKey: `key-${i}`, state: "active", notAfter: null } satisfies BundleKey],
    })),
    accessPolicies: keys.map((_, i) => ({ name: `policy-${i}`, spec: { rules: [{ effect: "Allow" as const, methods: ["GET" as const], paths: [`/api/v0/${i}/**`] }] } })),
    revocations: Array.from({ length: REVOKED }, (_, i) => ({ jti: `revoked-${i.toString(36).padStart(6, "0")}`, apiKey: `key-${i % API_KEYS}`, exp: Math.floor(now.getTime() / 1000) + 3600 })),
    current: null,
    record: null,
    trust: null,
  };
  const signingJwk = await generateSigningKey("EdDSA");
  const signer = bundleSignerOf(signingJwk);
  const trust = parseTrustSet(JSON.stringify({ keys: [publicJwkOf(signingJwk)] }));
  const first = planBundle(input);
  if (!first.ok) throw new Error(first.message);
  const text = first.data["bundle.json"];
  const jws = signBundle(text, signer, now.getTime());
  const silent = createLogger("silent");

  const load1 = (signed: boolean): number => {
    const store = new BundleStore({
      tenant: TENANT, verifier: new TokenVerifier(), now: () => now.getTime(), maxBundleAgeMs: null,
      signatures: signed ? { maxSignatureAgeMs: 7 * 86_400_000 } : null, logger: silent, metrics: new VerifierMetrics(() => null),
    });
    if (signed) store.setTrust(trust, "bench");
    const t0 = performance.now();
    // A head without segments is taken before offer returns.
    void store.offer(text, "bench", signed ? jws : undefined);
    const ms = performance.now() - t0;
    if (store.generation() === null) throw new Error(`the bundle was not loaded: ${store.lastFailure()}`);
    return ms;
  };
  // A new bundle each time (the planner caches what it read; `now` moves so every plan is a write).
  let tick = 0;
  const plan1 = (signed: boolean): number =>
    cpuMs(() => {
      tick += 1;
      const at = new Date(now.getTime() + tick * 1000);
      const p = planBundle({ ...input, now: at, revocations: [...input.revocations, { jti: `t-${tick}`, apiKey: "key-0", exp: null }] });
      if (!p.ok) throw new Error(p.message);
      if (signed) planSignature({ bundleJson: p.data["bundle.json"], currentBundle: undefined, currentSignature: undefined, signer, trust, now: at, resignAfterMs: 86_400_000 });
    });

  for (let i = 0; i < 20; i++) { load1(true); load1(false); plan1(true); plan1(false); }
  const loads = { signed: [] as number[], plain: [] as number[] };
  const plans = { signed: [] as number[], plain: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so drift in the machine's load hits both alike.
    const order = i % 2 === 0 ? [true, false] : [false, true];
    for (const s of order) (s ? loads.signed : loads.plain).push(load1(s));
    for (const s of order) (s ? plans.signed : plans.plain).push(plan1(s));
  }
  const signOnly: number[] = [];
  for (let i = 0; i < rounds; i++) signOnly.push(cpuMs(() => { signBundle(text, signer, now.getTime() + i); }));

  const m = machine();
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows = [
    ["verifier: load a bundle (median ms)", median(loads.plain).toFixed(2), median(loads.signed).toFixed(2), (median(loads.signed) / median(loads.plain)).toFixed(3) + "×"],
    ["verifier: load a bundle (mean ms)", sum(loads.plain).toFixed(2), sum(loads.signed).toFixed(2), (sum(loads.signed) / sum(loads.plain)).toFixed(3) + "×"],
    ["controller: CPU per bundle write, planning (mean ms)", sum(plans.plain).toFixed(2), sum(plans.signed).toFixed(2), (sum(plans.signed) / sum(plans.plain)).toFixed(3) + "×"],
  ];
  const body = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${m.nproc} × ${m.cpu}, Node.js ${m.node}; load average before the run ${load}.`,
    `Command: \`hack/dev bench:bundle-signing\` (${rounds} interleaved rounds, after 20 warm-up rounds).`,
    "",
    `One tenant: ${API_KEYS} ApiKeys (one Ed25519 key and one AccessPolicy each) and ${REVOKED.toLocaleString("en-US")} revocations; bundle.json is ${Buffer.byteLength(text).toLocaleString("en-US")} bytes.`,
    "The verifier figure is one `BundleStore.offer` into a fresh store (parse, validate, compile; with signing, the Ed25519",
    "check over the exact bytes of bundle.json first). The controller figure is the process CPU of planning one bundle write",
    "(`planBundle`), with signing also `planSignature` (a new signature): what the reconcile computes per write, without the",
    "API requests, which signing does not change in number per write (the record adds one write per content change, none per",
    "re-signature).",
    "",
    table(["", "plain", "signed", "signed / plain"], rows),
    "",
    `An Ed25519 signature over this bundle.json alone: ${median(signOnly).toFixed(3)} ms CPU (median).`,
  ].join("\n");
  process.stdout.write(`${body}\n`);
  if (values["no-write"] !== true) replaceSection(new URL("../docs/benchmarks.md", import.meta.url).pathname, "Bundle signing", body);
}

await main();
