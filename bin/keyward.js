#!/usr/bin/env node
// The installed entry point runs the compiled CLI (npm run build writes dist/).
import { existsSync } from "node:fs";
import process from "node:process";
import { URL } from "node:url";

const compiled = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(compiled)) {
  // A checkout, not an installed package: say what to run instead of a module-not-found stack.
  process.stderr.write("keyward: dist/ is missing (this is a source checkout): run `hack/dev build` first, or `hack/dev keyward -- <args>` to run from the sources\n");
  process.exit(1);
}
const { main } = await import(compiled.href);
process.exitCode = await main(process.argv.slice(2));
