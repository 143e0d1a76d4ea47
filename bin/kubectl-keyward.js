#!/usr/bin/env node
// kubectl keyward: kubectl runs any kubectl-<name> executable on PATH as `kubectl <name>`.
// The installed entry point runs the compiled plugin (npm run build writes dist/).
import process from "node:process";
import { main } from "../dist/plugin/main.js";

process.exitCode = await main(process.argv.slice(2));
