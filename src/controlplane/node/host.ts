// What a node changes on the machine outside its own directory and network namespace,
// and how each change is undone: kernel settings the kubelet writes, the kubepods
// cgroups, mounts (overlay root filesystems, Pod volumes, network namespaces), and
// the containers' processes and their shims, which outlive the kubelet and containerd.
import { readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tryRun } from "./run.ts";

/**
 * Machine-wide kernel settings the kubelet sets at start (kernel.panic and friends,
 * unless protectKernelDefaults) or kube-proxy may set. Per-namespace settings (IP
 * forwarding, bridge netfilter) change only inside the node's namespace and go with it.
 */
export const MACHINE_SYSCTLS = [
  "kernel/panic",
  "kernel/panic_on_oops",
  "vm/overcommit_memory",
  "vm/panic_on_oom",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
  "net/netfilter/nf_conntrack_max",
] as const;

export type SysctlSnapshot = Record<string, string>;

export function snapshotSysctls(names: readonly string[] = MACHINE_SYSCTLS, root = "/proc/sys"): SysctlSnapshot {
  const snapshot: SysctlSnapshot = {};
  for (const name of names) {
    try {
      snapshot[name] = readFileSync(join(root, name), "utf8").trim();
    } catch {
      // not on this kernel: nothing to restore
    }
  }
  return snapshot;
}

/** Writes back every value that differs from the snapshot; returns the names it restored. */
export function restoreSysctls(snapshot: SysctlSnapshot, root = "/proc/sys"): string[] {
  const restored: string[] = [];
  for (const [name, value] of Object.entries(snapshot)) {
    try {
      if (readFileSync(join(root, name), "utf8").trim() === value) continue;
      writeFileSync(join(root, name), `${value}\n`);
      restored.push(name);
    } catch {
      // best effort: reported by the caller's check
    }
  }
  return restored;
}

interface MountInfo {
  mountPoint: string;
  fsType: string;
}

/** The mount table of this process (octal escapes such as \040 decoded). */
export function readMounts(text = readFileSync("/proc/self/mountinfo", "utf8")): MountInfo[] {
  const decode = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const fields = line.split(" ");
      const dash = fields.indexOf("-");
      return { mountPoint: decode(fields[4] ?? ""), fsType: fields[dash + 1] ?? "" };
    });
}

/** The mount points at or below `dir`, deepest first (the order to unmount them in). */
export function mountsBelow(dir: string, mounts: readonly MountInfo[] = readMounts()): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return mounts
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Lazily unmounts everything mounted at or below `dir`, deepest first; returns how many. */
export function unmountBelow(dir: string): number {
  let count = 0;
  for (const point of mountsBelow(dir)) if (tryRun("umount", ["-l", point])) count++;
  return count;
}

/** The mount points of the machine's cgroup hierarchies (v1 controllers, or the v2 root). */
export function cgroupRoots(mounts: readonly MountInfo[] = readMounts()): string[] {
  return mounts.filter((m) => m.fsType === "cgroup" || m.fsType === "cgroup2").map((m) => m.mountPoint);
}

function subtree(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name));
  } catch {
    return [];
  }
  return [...entries.flatMap(subtree), dir];
}

/** Every pid in a cgroup subtree, across all hierarchies. */
export function pidsInCgroup(name: string, roots: readonly string[] = cgroupRoots()): number[] {
  const pids = new Set<number>();
  for (const root of roots) {
    for (const dir of subtree(join(root, name))) {
      try {
        for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) {
          const pid = Number(line);
          if (Number.isInteger(pid) && pid > 0) pids.add(pid);
        }
      } catch {
        // gone meanwhile
      }
    }
  }
  return [...pids];
}

/** Removes a cgroup subtree in every hierarchy, leaves first; returns the directories left behind. */
export function removeCgroup(name: string, roots: readonly string[] = cgroupRoots()): string[] {
  const left: string[] = [];
  for (const root of roots) {
    for (const dir of subtree(join(root, name))) {
      try {
        rmdirSync(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") left.push(dir);
      }
    }
  }
  return left;
}

/** Pids whose executable is `exe` (the node's containerd shims). */
export function pidsRunning(exe: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      if (readlinkSync(`/proc/${pid}/exe`) === exe) pids.push(pid);
    } catch {
      // another user's process, or gone
    }
  }
  return pids;
}

export function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * Paths the node writes to that cannot be moved into its own directory: libcni's result
 * cache, and the directory of containerd's shim sockets. The node records what was there
 * before it started and removes the rest.
 */
export const FIXED_PATHS = ["/var/lib/cni", "/run/containerd"] as const;

/** Every file and directory below `dir`, relative to it (empty when it does not exist). */
export function listTree(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
  } catch {
    return [];
  }
}

/** Removes what appeared below `dir` since `before` was listed, deepest first; `dir` itself too if it was not there. */
export function removeNewEntries(before: readonly string[], dir: string): void {
  if (before.length === 0) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const kept = new Set(before);
  for (const entry of listTree(dir).reverse()) {
    if (!kept.has(entry)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}
