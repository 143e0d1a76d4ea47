// Real servers and clients on 127.0.0.1 for the verifier's tests.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleSignerOf, generateSigningKey, publicJwkOf, signBundle, type BundleSigner, type PrivateJwk } from "../../../src/token/index.ts";
import { parseVerifierArgs, startVerifier, type RunningVerifier, type VerifierDeps } from "../../../src/verifier/index.ts";

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

export interface Upstream {
  port: number;
  url: string;
  server: Server;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** An upstream workload. The default handler answers 200 with a JSON echo of what it got. */
export async function startUpstream(handler?: (req: IncomingMessage, res: ServerResponse, seen: SeenRequest[]) => void): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server = createServer(
    handler === undefined
      ? (req, res) => {
          const chunks: Buffer[] = [];
          req.on("data", (c: Buffer) => chunks.push(c));
          req.on("end", () => {
            const entry = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() };
            seen.push(entry);
            res.writeHead(200, { "content-type": "application/json", "x-upstream": "yes" });
            res.end(JSON.stringify({ method: entry.method, url: entry.url }));
          });
        }
      : (req, res) => { handler(req, res, seen); },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => { resolve(); });
      }),
  };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string | string[]> | string[];
  body?: string | Buffer;
}

/** One request on a fresh connection. */
export function send(port: number, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method: opts.method ?? "GET", path: opts.path ?? "/api/v0/items", headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }); });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Collects pino's output (one JSON object per line). */
export class LogCapture {
  readonly lines: string[] = [];
  write(chunk: string): void {
    for (const line of chunk.split("\n")) if (line !== "") this.lines.push(line);
  }
  get text(): string {
    return this.lines.join("\n");
  }
  records(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  events(event: string): Record<string, unknown>[] {
    return this.records().filter((r) => r.event === event);
  }
}

export interface TestVerifier {
  verifier: RunningVerifier;
  port: number;
  adminPort: number;
  dir: string;
  bundleFile: string;
  logs: LogCapture;
  /** Writes bundle.json and its signature (bundle.jws) by the test's bundle-signing key. */
  writeBundle(text: string): Promise<void>;
  /** The signature of `text` by the trusted test key, signed now by the verifier's clock. */
  sign(text: string): string;
  stop(): Promise<void>;
}

let sharedSigner: Promise<{ jwk: PrivateJwk; signer: BundleSigner }> | null = null;

/** The bundle-signing key every test verifier trusts (one per test process). */
export function testBundleSigner(): Promise<{ jwk: PrivateJwk; signer: BundleSigner }> {
  sharedSigner ??= generateSigningKey("EdDSA").then((jwk) => ({ jwk, signer: bundleSignerOf(jwk) }));
  return sharedSigner;
}

/** The signature (bundle.jws) of `text` by the key every test verifier trusts. */
export async function signForTest(text: string, atMs: number): Promise<string> {
  return signBundle(text, (await testBundleSigner()).signer, atMs);
}

/**
 * A verifier started through its flags on 127.0.0.1, reading the bundle from a file in a
 * fresh directory (written and signed before start unless `bundleText` is null), and the
 * trusted bundle-signing key from a trust file next to it.
 */
export async function startTestVerifier(opts: { args: string[]; bundleText: string | null; deps?: VerifierDeps }): Promise<TestVerifier> {
  const dir = await mkdtemp(join(tmpdir(), "keyward-verifier-"));
  const bundleFile = join(dir, "bundle.json");
  const { jwk: signingKey, signer } = await testBundleSigner();
  const now = opts.deps?.now ?? Date.now;
  const sign = (text: string): string => signBundle(text, signer, now());
  const writeBundle = async (text: string): Promise<void> => {
    await writeFile(join(dir, "bundle.jws"), sign(text));
    await writeFile(bundleFile, text);
  };
  const trustFile = join(dir, "trust.json");
  await writeFile(trustFile, JSON.stringify({ keys: [publicJwkOf(signingKey)] }));
  if (opts.bundleText !== null) await writeBundle(opts.bundleText);
  const logs = new LogCapture();
  const config = parseVerifierArgs(
    [
      "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--tenant", "acme", "--bundle-file", bundleFile, "--bundle-trust-file", trustFile,
      "--bundle-poll-interval", "1h", "--drain-timeout", "2s", "--decision-log-sample", "1", ...opts.args,
    ],
    {},
  );
  const verifier = await startVerifier(config, { logDestination: logs, ...opts.deps });
  return {
    verifier,
    port: verifier.address.port,
    adminPort: verifier.adminAddress!.port,
    dir,
    bundleFile,
    logs,
    writeBundle,
    sign,
    stop: async () => {
      await verifier.drain(100);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns true or the deadline passes. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 5000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
  }
}
