// `keyward token verify`: runs the verifier's checks on one token against a bundle file
// and prints each step. Shows the token's header and claims, never its signature or the
// token itself.

import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { assembleBundle, BundleError, parseBundle, TokenVerifier, type Bundle } from "../token/index.ts";
import { fileSegmentReader } from "../verifier/bundle/file-source.ts";
import { BUNDLE_KEY, bundleTextOf } from "../verifier/bundle/text.ts";
import { parseFlagDuration } from "../lib/duration.ts";
import { EXIT_USAGE, type CliIO } from "./io.ts";

const HELP = `Usage: keyward token verify --bundle-file PATH [--method METHOD] [--path PATH] [--now RFC3339] [--leeway DURATION] TOKEN|-

Runs the verifier's checks on TOKEN (or a token read from standard input with -) against
a bundle: bundle.json, the keyward-bundle ConfigMap mounted as a directory, or a ConfigMap
manifest (kubectl get configmap keyward-bundle -o yaml). A bundle naming revocation segments
is checked with all of them, read as <name>.json next to bundle.json (the layout of the
verifier's projected volume: kubectl get configmap keyward-bundle-revoked-1 \
-o jsonpath='{.data.revoked\\.json}' > DIR/keyward-bundle-revoked-1.json). With --path the
access policies are checked too (--method defaults to GET). Exits 0 when the token is
accepted, 1 when not.

  --bundle-file PATH   the bundle to check against (a file, or a directory holding bundle.json)
  --method METHOD      the request method for the policy check (default GET)
  --path PATH          the request path for the policy check
  --now RFC3339        the time of the check (default: now)
  --leeway DURATION    clock skew allowed on exp, nbf and iat (default 30s)
`;

class UsageError extends Error {}

const MAX_TOKEN_INPUT = 64 * 1024;

export async function runTokenVerify(args: string[], io: CliIO): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout.write(HELP);
    return 0;
  }
  try {
    return await verifyOne(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`keyward token verify: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}

async function verifyOne(args: string[], io: CliIO): Promise<number> {
  let values: { "bundle-file"?: string | undefined; method?: string | undefined; path?: string | undefined; now?: string | undefined; leeway?: string | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { "bundle-file": { type: "string" }, method: { type: "string" }, path: { type: "string" }, now: { type: "string" }, leeway: { type: "string" } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; see keyward token verify --help`);
  }
  const bundleFile = values["bundle-file"];
  if (bundleFile === undefined) throw new UsageError("--bundle-file is required: bundle.json, the mounted ConfigMap directory or a ConfigMap manifest");
  if (positionals.length !== 1) throw new UsageError("give exactly one token, or - to read it from standard input");
  if (values.method !== undefined && values.path === undefined) throw new UsageError("--method needs --path: the policy check needs both");
  if (values.path !== undefined && !values.path.startsWith("/")) throw new UsageError(`--path must start with "/", not "${values.path}"`);
  const method = values.method ?? "GET";
  if (!/^[A-Za-z]{1,32}$/.test(method)) throw new UsageError(`--method must be an HTTP method such as GET, not "${method}"`);

  let nowMs = (io.now ?? Date.now)();
  if (values.now !== undefined) {
    const t = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(values.now) ? Date.parse(values.now) : NaN;
    if (Number.isNaN(t)) throw new UsageError(`--now must be an RFC 3339 time such as 2026-11-29T12:00:00Z, not "${values.now}"`);
    nowMs = t;
  }
  const leewayMs = parseFlagDuration(values.leeway ?? "30s");
  if (leewayMs === null) throw new UsageError(`--leeway must be a duration such as 30s, not "${values.leeway ?? ""}"`);

  const token = positionals[0] === "-" ? (await readAll(io.stdin)).trim() : positionals[0]!;
  const bundle = await readBundle(bundleFile);
  const verifier = new TokenVerifier({ leewaySeconds: Math.floor(leewayMs / 1000) });
  let compiled;
  try {
    compiled = verifier.load(bundle);
  } catch (err) {
    if (err instanceof BundleError) throw new UsageError(`${bundleFile} is not a usable bundle (${err.code}): ${err.message}`);
    throw err;
  }

  const out = io.stdout;
  out.write(`bundle   ${bundleFile}: tenant ${bundle.tenant}, generation ${bundle.generation}, issuer ${bundle.issuer}\n`);
  const segments = bundle.revokedSegments?.length ?? 0;
  if (segments > 0) out.write(`segments ${segments} read, ${bundle.revoked.length} revocations in all\n`);
  out.write(`time     ${new Date(nowMs).toISOString()}\n`);
  if (values.path !== undefined) out.write(`request  ${method.toUpperCase()} ${values.path}\n`);
  const parts = token.split(".");
  out.write(`header   ${decodePart(parts[0])}\n`);
  out.write(`claims   ${decodePart(parts[1])}\n`);
  out.write("\n");

  const request = values.path === undefined ? null : { method: method.toUpperCase(), path: values.path };
  const { result, steps } = verifier.explain(token === "" ? undefined : token, request, compiled, nowMs);
  for (const s of steps) {
    out.write(`${s.ok ? "✓" : "✗"} ${s.step}${s.detail === "" ? "" : `: ${s.detail}`}\n`);
  }
  out.write("\n");
  if (result.ok) {
    const id = result.identity;
    const rule = "rule" in id ? `; allowed by policy ${id.rule.policy} rule ${id.rule.index}` : "";
    out.write(`valid: ApiKey ${id.apiKey} of tenant ${id.tenant}, token ${id.jti}, key ${id.kid}${rule}\n`);
    if (request === null) out.write("(no --path given: the access policies were not checked)\n");
    return 0;
  }
  out.write(`invalid: ${result.error.code} (HTTP ${result.error.status}): ${result.error.message}\n`);
  return 1;
}

/** A JWT part as JSON text, or a note when it is not base64url JSON. Only parts 0 and 1 come here. */
function decodePart(part: string | undefined): string {
  if (part === undefined || part === "") return "(missing)";
  if (!/^[A-Za-z0-9_-]+$/.test(part) || part.length > 16_384) return "(not base64url)";
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return JSON.stringify(value);
  } catch {
    return "(not JSON)";
  }
}

/** The bundle at `path` with the revocations of every segment it names (read from the same directory). */
async function readBundle(path: string): Promise<Bundle> {
  let file = path;
  let text: string;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, BUNDLE_KEY);
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`--bundle-file ${file} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? "error"})`}`);
  }
  const texts = new Map<string, string | undefined>();
  try {
    const head = parseBundle(bundleTextOf(text));
    const reader = fileSegmentReader(dirname(file));
    for (const ref of head.revokedSegments ?? []) texts.set(ref.name, await reader.read(ref.name));
    return assembleBundle(head, (name) => texts.get(name));
  } catch (err) {
    if (err instanceof BundleError) {
      const where = err.code === "ERR_BUNDLE_SEGMENT_MISSING" ? ` (looked for ${[...texts].filter(([, t]) => t === undefined).map(([name]) => join(dirname(file), `${name}.json`)).join(", ")})` : "";
      throw new UsageError(`${file} is not a valid bundle (${err.code}): ${err.message}${where}`);
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new UsageError(`a revocation segment next to ${file} cannot be read (${code})`);
    throw err;
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > MAX_TOKEN_INPUT) throw new UsageError(`standard input holds more than ${MAX_TOKEN_INPUT} bytes; that is not a token`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString("utf8");
}
