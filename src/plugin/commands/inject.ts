// kubectl keyward inject -f FILE: the manifests again, with the verifier sidecar in every Pod and
// Pod template, through injectManifest, the function behind the admission webhook. Offline:
// nothing is read from or sent to the cluster.

import { readFileSync } from "node:fs";
import { parseAllDocuments, stringify } from "yaml";
import { injectManifest, InjectionError } from "../../injector/index.ts";
import type { Invocation } from "../args.ts";
import { PluginError, UsageError } from "../errors.ts";
import type { CommandContext } from "./context.ts";

export type InjectInvocation = Extract<Invocation, { command: "inject" }>;

/** The image of this version of keyward. */
export function defaultImage(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return `ghcr.io/keyward/keyward:${pkg.version}`;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** The manifests of `text` with the sidecar injected, as YAML documents. Throws PluginError naming the object. */
export function injectText(text: string, image: string, source: string): string {
  const docs = parseAllDocuments(text);
  const out: string[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) throw new UsageError(`${source} is not YAML: ${doc.errors[0]!.message}`);
    const object: unknown = doc.toJSON();
    if (object === null || object === undefined) continue;
    try {
      out.push(stringify(injectManifest(object, image).object));
    } catch (err) {
      if (err instanceof InjectionError) throw new PluginError("ERR_PLUGIN_REFUSED", `${source}: ${err.message}`);
      throw err;
    }
  }
  return out.join("---\n");
}

export async function runInject(inv: InjectInvocation, ctx: CommandContext): Promise<number> {
  let text: string;
  try {
    text = inv.filename === "-" ? await readAll(ctx.io.stdin ?? process.stdin) : readFileSync(inv.filename, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read -f ${inv.filename}: ${err instanceof Error ? err.message : String(err)}`);
  }
  ctx.io.stdout.write(injectText(text, inv.image ?? defaultImage(), inv.filename === "-" ? "stdin" : inv.filename));
  return 0;
}
