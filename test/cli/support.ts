// Runs the keyward command in-process with captured streams.

import { Readable } from "node:stream";
import { main, type CliIO } from "../../src/cli/main.ts";

export class Captured {
  text = "";
  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(argv: string[], opts: { env?: Record<string, string>; stdin?: string; now?: () => number; stopSignal?: AbortSignal; stdout?: Captured } = {}): Promise<RunResult> {
  const stdout = opts.stdout ?? new Captured();
  const stderr = new Captured();
  const io: CliIO = {
    stdout: stdout as unknown as NodeJS.WritableStream,
    stderr: stderr as unknown as NodeJS.WritableStream,
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
    env: opts.env ?? {},
    ...(opts.now === undefined ? {} : { now: opts.now }),
    ...(opts.stopSignal === undefined ? {} : { stopSignal: opts.stopSignal }),
  };
  const code = await main(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
