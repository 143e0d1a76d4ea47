// Undoes everything a node did to the machine, in an order that works whatever state the
// node was left in: processes first (the node's own, then the containers in the kubepods
// cgroups, then the shims), then mounts, cgroups, the network namespace, the kernel
// settings, and last the files. Idempotent; used by stop(), by the next start after a
// run that was killed, and by the reaper.
import { rmSync } from "node:fs";
import { isAlive } from "../process.ts";
import { cgroupRoots, killAll, pidsInCgroup, pidsRunning, removeCgroup, removeNewEntries, restoreSysctls, unmountBelow } from "./host.ts";
import { deleteNetwork, NODE_NETWORK } from "./network.ts";
import type { NodeNetwork } from "./network.ts";
import { removeState } from "./state.ts";
import type { NodeState } from "./state.ts";

/** The cgroup the kubelet puts every Pod under (cgroupfs driver, cgroupRoot /). */
export const PODS_CGROUP = "kubepods";

export interface TeardownReport {
  /** Machine settings that had to be written back. */
  restoredSysctls: string[];
  unmounted: number;
  /** cgroup directories that could not be removed (still busy). */
  cgroupsLeft: string[];
}

async function waitGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

export async function teardownNode(state: NodeState, net: NodeNetwork = NODE_NETWORK, statePath?: string): Promise<TeardownReport> {
  const own = [...Object.values(state.pids), ...(state.controlPlanePids ?? [])].filter(isAlive);
  killAll(own);
  await waitGone(own, 5000);

  const roots = cgroupRoots();
  // Containers, until none is left (a dying container's children may still show up once).
  for (let round = 0; round < 5; round++) {
    const containers = pidsInCgroup(PODS_CGROUP, roots);
    if (containers.length === 0) break;
    killAll(containers);
    await waitGone(containers, 2000);
  }
  const shims = pidsRunning(state.shimExe);
  killAll(shims);
  await waitGone(shims, 2000);

  const unmounted = unmountBelow(state.nodeDir);
  let cgroupsLeft = removeCgroup(PODS_CGROUP, roots);
  for (let round = 0; cgroupsLeft.length > 0 && round < 20; round++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    cgroupsLeft = removeCgroup(PODS_CGROUP, roots);
  }
  deleteNetwork(net);
  for (const [dir, before] of Object.entries(state.fixedPathsBefore)) removeNewEntries(before, dir);
  const restoredSysctls = restoreSysctls(state.sysctls);
  rmSync(state.nodeDir, { recursive: true, force: true });
  if (state.controlPlaneDir !== undefined) rmSync(state.controlPlaneDir, { recursive: true, force: true });
  removeState(statePath);
  return { restoredSysctls, unmounted, cgroupsLeft };
}
