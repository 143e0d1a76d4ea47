// Runs `kubectl keyward` in-process with captured streams, a given environment and clock.
import { PassThrough } from "node:stream";
import { main } from "../../src/plugin/index.ts";

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(argv: string[], opts: { env?: Record<string, string | undefined>; now?: number } = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  const now = opts.now;
  const code = await main(argv, { stdout, stderr, env: opts.env ?? {}, ...(now === undefined ? {} : { now: () => now }) });
  return { code, stdout: out, stderr: err };
}
