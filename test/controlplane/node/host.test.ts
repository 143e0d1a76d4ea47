import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cgroupRoots, listTree, mountsBelow, pidsInCgroup, readMounts, removeCgroup, removeNewEntries, restoreSysctls, snapshotSysctls } from "../../../src/controlplane/node/host.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keyward-host-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const MOUNTINFO = [
  "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
  "30 22 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory",
  "31 22 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
  "40 22 0:50 / /tmp/keyward-node-x/kubelet/pods/a/volumes/kubernetes.io~projected/kube\\040api rw - tmpfs tmpfs rw",
  "41 22 0:51 / /tmp/keyward-node-x/containerd/state/rootfs rw - overlay overlay rw",
  "42 22 0:52 / /tmp/keyward-node-xy/other rw - tmpfs tmpfs rw",
].join("\n");

describe("the node's host bookkeeping", () => {
  it("reads mount points with their escapes decoded and their filesystem types", () => {
    const mounts = readMounts(MOUNTINFO);
    expect(mounts[3]).toEqual({ mountPoint: "/tmp/keyward-node-x/kubelet/pods/a/volumes/kubernetes.io~projected/kube api", fsType: "tmpfs" });
    expect(cgroupRoots(mounts)).toEqual(["/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified"]);
  });

  it("unmounts only what is below the node's directory, deepest first, never a sibling with the same prefix", () => {
    expect(mountsBelow("/tmp/keyward-node-x", readMounts(MOUNTINFO))).toEqual([
      "/tmp/keyward-node-x/kubelet/pods/a/volumes/kubernetes.io~projected/kube api",
      "/tmp/keyward-node-x/containerd/state/rootfs",
    ]);
  });

  it("restores exactly the kernel settings that changed, and skips those the kernel lacks", () => {
    mkdirSync(join(dir, "kernel"));
    writeFileSync(join(dir, "kernel", "panic"), "1\n");
    writeFileSync(join(dir, "kernel", "panic_on_oops"), "0\n");
    const snapshot = snapshotSysctls(["kernel/panic", "kernel/panic_on_oops", "kernel/absent"], dir);
    expect(snapshot).toEqual({ "kernel/panic": "1", "kernel/panic_on_oops": "0" });
    writeFileSync(join(dir, "kernel", "panic"), "10\n");
    expect(restoreSysctls(snapshot, dir)).toEqual(["kernel/panic"]);
    expect(readFileSync(join(dir, "kernel", "panic"), "utf8").trim()).toBe("1");
  });

  it("finds every pid of a cgroup subtree in every hierarchy, and removes the subtree leaves first", () => {
    const roots = [join(dir, "memory"), join(dir, "pids")];
    mkdirSync(join(roots[0]!, "kubepods", "besteffort", "pod1"), { recursive: true });
    mkdirSync(join(roots[1]!, "kubepods", "pod2"), { recursive: true });
    writeFileSync(join(roots[0]!, "kubepods", "besteffort", "pod1", "cgroup.procs"), "12\n13\n");
    writeFileSync(join(roots[1]!, "kubepods", "pod2", "cgroup.procs"), "13\n14\n");
    expect(pidsInCgroup("kubepods", roots).sort()).toEqual([12, 13, 14]);
    rmSync(join(roots[0]!, "kubepods", "besteffort", "pod1", "cgroup.procs"));
    rmSync(join(roots[1]!, "kubepods", "pod2", "cgroup.procs"));
    expect(removeCgroup("kubepods", roots)).toEqual([]);
    expect(existsSync(join(roots[0]!, "kubepods"))).toBe(false);
    expect(existsSync(join(roots[1]!, "kubepods"))).toBe(false);
  });

  it("removes from a fixed path only what appeared after the node started, and the path itself if the node created it", () => {
    const cache = join(dir, "cni");
    mkdirSync(join(cache, "results"), { recursive: true });
    writeFileSync(join(cache, "results", "theirs"), "");
    const before = listTree(cache);
    writeFileSync(join(cache, "results", "keyward-abc-eth0"), "");
    mkdirSync(join(cache, "networks", "keyward"), { recursive: true });
    removeNewEntries(before, cache);
    expect(listTree(cache)).toEqual(before);

    const created = join(dir, "created");
    const none = listTree(created);
    mkdirSync(join(created, "s"), { recursive: true });
    removeNewEntries(none, created);
    expect(existsSync(created)).toBe(false);
  });
});
