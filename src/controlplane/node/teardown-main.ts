// Tears down the node recorded in the state file (the reaper runs this when the process
// that started the node died without stopping it): node teardown-main.ts [STATE_FILE]
import { readState, STATE_FILE } from "./state.ts";
import { teardownNode } from "./teardown.ts";

const path = process.argv[2] ?? STATE_FILE;
const state = readState(path);
if (state !== undefined) await teardownNode(state, undefined, path);
