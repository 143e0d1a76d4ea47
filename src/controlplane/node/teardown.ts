// Undoes everything a node did to the machine, in an order that works whatever state the
// node was left in: processes first (the node's own, then the containers in the kubepods
// cgroups, then the shims), then mounts, cgroups, the network namespace, the kernel
// settings, and last the files. Idempotent; used by stop(), by the next start after a
// run that was killed, and by the reaper.
import { existsSync, rmSync } from "node:fs";
import { isAlive } from "../process.ts";
import {
  cgroupRoots,
  killAll,
  listTree,
  mountsBelow,
  pidsInCgroup,
  pidsRunning,
  removeCgroup,
  removeNewEntries,
  restoreSysctls,
  snapshotSysctls,
  unmountBelow,
} from "./host.ts";
import { deleteNetwork, NODE_NETWORK, networkExists } from "./network.ts";
import type { NodeNetwork } from "./network.ts";
import { removeState } from "./state.ts";
import type { NodeState } from "./state.ts";

/** The cgroup the kubelet puts every Pod under (cgroupfs driver, cgroupRoot /). */
export const PODS_CGROUP = "kubepods";

export interface TeardownReport {
  /** Machine settings that had to be written back. */
  restoredSysctls: string[];
  unmounted: number;
  /** What is still there after the teardown: empty when the machine is as it was. */
  leftovers: string[];
}

async function waitGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * Kills the node's processes (the control plane's too, unless `keepControlPlane`), every
 * container, and the shims. Containers go before the control plane stops gracefully: their
 * watches would otherwise hold the API server's shutdown open.
 */
export async function killNodeProcesses(state: NodeState, opts: { keepControlPlane?: boolean } = {}): Promise<void> {
  const own = [...Object.values(state.pids), ...(opts.keepControlPlane === true ? [] : (state.controlPlanePids ?? []))].filter(isAlive);
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
}

export async function teardownNode(state: NodeState, net: NodeNetwork = NODE_NETWORK, statePath?: string): Promise<TeardownReport> {
  await killNodeProcesses(state);
  const roots = cgroupRoots();
  const unmounted = unmountBelow(state.nodeDir);
  let cgroupsLeft = removeCgroup(PODS_CGROUP, roots);
  for (let round = 0; cgroupsLeft.length > 0 && round < 20; round++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    cgroupsLeft = removeCgroup(PODS_CGROUP, roots);
  }
  deleteNetwork(net);
  for (const [dir, before] of Object.entries(state.fixedPathsBefore)) removeNewEntries(before, dir);
  const restoredSysctls = restoreSysctls(state.sysctls);
  const mountsLeft = mountsBelow(state.nodeDir);
  if (mountsLeft.length === 0) rmSync(state.nodeDir, { recursive: true, force: true });
  if (state.controlPlaneDir !== undefined) rmSync(state.controlPlaneDir, { recursive: true, force: true });
  removeState(statePath);
  return { restoredSysctls, unmounted, leftovers: leftovers(state, net, cgroupsLeft, mountsLeft) };
}

/** Everything of the node that is still on the machine: checked after every teardown. */
function leftovers(state: NodeState, net: NodeNetwork, cgroupsLeft: readonly string[], mountsLeft: readonly string[]): string[] {
  const left = [...cgroupsLeft.map((d) => `cgroup ${d}`), ...mountsLeft.map((m) => `mount ${m}`)];
  if (networkExists(net)) left.push(`network namespace ${net.netns}`);
  if (existsSync(`/sys/class/net/${net.hostInterface}`)) left.push(`interface ${net.hostInterface}`);
  const now = snapshotSysctls(Object.keys(state.sysctls));
  for (const [name, value] of Object.entries(state.sysctls)) if (now[name] !== value) left.push(`sysctl ${name}=${now[name] ?? "?"} (was ${value})`);
  const alive = [...Object.values(state.pids), ...(state.controlPlanePids ?? [])].filter(isAlive);
  if (alive.length > 0) left.push(`processes ${alive.join(" ")}`);
  if (pidsRunning(state.shimExe).length > 0) left.push("containerd shims");
  for (const [dir, before] of Object.entries(state.fixedPathsBefore)) {
    const added = listTree(dir).filter((e) => !before.includes(e));
    if (added.length > 0) left.push(`${dir}: ${added.join(", ")}`);
  }
  return left;
}
