// What a running node has changed on this machine, written before each change so that
// a run that was killed (even by SIGKILL) can be undone by the next one, or by the
// reaper: the node's directory, the kernel settings as they were, the shim executable,
// and the pids of the node's processes. One node per machine at a time.
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { SysctlSnapshot } from "./host.ts";

export const STATE_FILE = "/run/keyward-node/state.json";

export interface NodeState {
  /** The process that started the node (alive: the node is in use, not left behind). */
  ownerPid: number;
  /** The node's directory (containerd, kubelet, CNI): unmounted and removed at teardown. */
  nodeDir: string;
  /** Machine-wide kernel settings as they were before the node started. */
  sysctls: SysctlSnapshot;
  /** containerd's shim executable: its processes outlive containerd and are killed last. */
  shimExe: string;
  /** The node's processes by name (kubelet, containerd, kube-proxy, kube-scheduler). */
  pids: Record<string, number>;
  /** What was below each of FIXED_PATHS before the node started: the rest is the node's. */
  fixedPathsBefore: Record<string, string[]>;
  /** The control plane's directory and processes, when the node started one. */
  controlPlaneDir?: string;
  controlPlanePids?: number[];
}

export function writeState(state: NodeState, path = STATE_FILE): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function readState(path = STATE_FILE): NodeState | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as NodeState;
  } catch {
    return undefined;
  }
}

export function removeState(path = STATE_FILE): void {
  rmSync(path, { force: true });
  try {
    rmdirSync(dirname(path));
  } catch {
    // not empty, or already gone
  }
}
