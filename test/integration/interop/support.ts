// Third-party verifiers as child processes: the tools hack/interop-tools.sh builds
// (cached under .cache/test-tools), a run with stdin, and long-running servers
// waited for on a readiness URL and stopped with the test.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));

export interface InteropTools {
  oidcClient: string;
  oauth2Proxy: string;
  python: string;
  /** "" when nginx is not installed (hack/interop-tools.sh --packages installs it). */
  nginx: string;
}

/** Builds what is missing (minutes on a cold cache, a second when cached) and names the tools. */
export function interopTools(): InteropTools {
  const out = execFileSync("bash", [join(REPO, "hack", "interop-tools.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 900_000 });
  const paths = Object.fromEntries(out.trim().split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
  return { oidcClient: paths.OIDC_CLIENT ?? "", oauth2Proxy: paths.OAUTH2_PROXY ?? "", python: paths.PYTHON ?? "", nginx: paths.NGINX ?? "" };
}

export const INTEROP_SCRIPT_DIR = join(REPO, "test", "interop");

/** Runs a program to its end with `input` on stdin (tokens never go on a command line); its stdout. */
export function run(file: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], timeout: 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on("data", (c: Buffer) => { stderr += c.toString(); });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${file} exited with ${String(code)}: ${stderr.slice(-2000)}`));
    });
    child.stdin.end(input);
  });
}

export interface Server {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts a server process and waits until `readyUrl` answers (any status), or fails with its output. */
export async function startServer(file: string, args: string[], readyUrl: string, deadlineMs = 30_000): Promise<Server> {
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => { output += c.toString(); });
  child.stderr.on("data", (c: Buffer) => { output += c.toString(); });
  const state: { exited: number | null } = { exited: null };
  child.on("exit", (code) => { state.exited = code ?? -1; });
  const server: Server = {
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (state.exited !== null) {
          resolve();
          return;
        }
        child.once("exit", () => { resolve(); });
        child.kill("SIGTERM");
      }),
  };
  const until = Date.now() + deadlineMs;
  for (;;) {
    if (state.exited !== null) throw new Error(`${file} exited with ${String(state.exited)} before it was ready:\n${output.slice(-3000)}`);
    if (await answers(readyUrl)) return server;
    if (Date.now() > until) {
      await server.stop();
      throw new Error(`${file} was not ready at ${readyUrl} within ${deadlineMs} ms:\n${output.slice(-3000)}`);
    }
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
  }
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("error", () => { resolve(false); });
    req.on("timeout", () => { req.destroy(); });
    req.end();
  });
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET over plain HTTP on 127.0.0.1 with these headers. */
export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => { body += c.toString(); });
      res.on("end", () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }); });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
