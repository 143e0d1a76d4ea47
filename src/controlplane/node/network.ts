// The node's network: a network namespace of its own, joined to this machine by one
// veth pair and nothing else. containerd, the kubelet, kube-proxy, the bridge and every
// Pod live inside it; the control plane stays on the machine's side of the pair. The
// namespace has no default route and no uplink, so nothing a Pod sends (a DNS query
// included) can leave the machine: it reaches the node, the Pods, the Service ClusterIPs
// and the API server's address, and is otherwise unroutable.
//
//   machine (host netns)                     node netns "keyward-node"
//   kw-node0 10.245.0.1/24  <── veth ──>  eth0 10.245.0.2/24
//   API server binds 10.245.0.1              kubelet, kube-proxy, containerd
//   route 10.244.0.0/24 via 10.245.0.2       bridge cni0 10.244.0.1/24 ── Pods 10.244.0.x
//   route 10.0.0.0/24   via 10.245.0.2       Services 10.0.0.0/24 (kube-proxy, nftables)
import { existsSync } from "node:fs";
import { run, tryRun } from "./run.ts";

export interface NodeNetwork {
  /** The network namespace's name (`ip netns`), and its path for nsenter. */
  readonly netns: string;
  readonly netnsPath: string;
  /** The machine's end of the veth pair and its address: the API server binds it. */
  readonly hostInterface: string;
  readonly hostAddress: string;
  /** The node's address inside the namespace: the kubelet's InternalIP. */
  readonly nodeAddress: string;
  /** The subnet of the veth pair. */
  readonly linkCidr: string;
  /** The Pods' subnet (the bridge's), and the bridge's own address (the Pods' gateway). */
  readonly podCidr: string;
  readonly bridge: string;
  /** The Service CIDR (the control plane's --service-cluster-ip-range). */
  readonly serviceCidr: string;
}

export const NODE_NETWORK: NodeNetwork = {
  netns: "keyward-node",
  netnsPath: "/run/netns/keyward-node",
  hostInterface: "kw-node0",
  hostAddress: "10.245.0.1",
  nodeAddress: "10.245.0.2",
  linkCidr: "10.245.0.0/24",
  podCidr: "10.244.0.0/24",
  bridge: "cni0",
  serviceCidr: "10.0.0.0/24",
};

/** Runs `ip` inside the node's namespace. */
function ipIn(net: NodeNetwork, args: readonly string[]): string {
  return run("ip", ["-n", net.netns, ...args]);
}

/** Whether the namespace exists (left over from a run that was killed, or in use by another). */
export function networkExists(net: NodeNetwork = NODE_NETWORK): boolean {
  return existsSync(net.netnsPath);
}

/**
 * Creates the namespace, the veth pair, the addresses and the routes. The namespace
 * gets loopback, IP forwarding (between its eth0 and the bridge) and no default route.
 */
export function createNetwork(net: NodeNetwork = NODE_NETWORK): void {
  run("ip", ["netns", "add", net.netns]);
  try {
    run("ip", ["link", "add", net.hostInterface, "type", "veth", "peer", "name", "eth0", "netns", net.netns]);
    const prefix = net.linkCidr.split("/")[1] ?? "24";
    run("ip", ["addr", "add", `${net.hostAddress}/${prefix}`, "dev", net.hostInterface]);
    run("ip", ["link", "set", net.hostInterface, "up"]);
    ipIn(net, ["addr", "add", `${net.nodeAddress}/${prefix}`, "dev", "eth0"]);
    ipIn(net, ["link", "set", "lo", "up"]);
    ipIn(net, ["link", "set", "eth0", "up"]);
    // Per-namespace: forwarding between eth0 and the bridge inside the node only.
    run("ip", ["netns", "exec", net.netns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
    // The machine reaches Pods and Services through the node, and nothing else changes.
    run("ip", ["route", "add", net.podCidr, "via", net.nodeAddress, "dev", net.hostInterface]);
    run("ip", ["route", "add", net.serviceCidr, "via", net.nodeAddress, "dev", net.hostInterface]);
  } catch (error) {
    deleteNetwork(net);
    throw error;
  }
}

/**
 * Deletes the namespace (with it the bridge, eth0, kube-proxy's nftables tables and
 * every rule made inside it) and the machine's end of the pair (with it its routes).
 * Idempotent.
 */
export function deleteNetwork(net: NodeNetwork = NODE_NETWORK): void {
  tryRun("ip", ["link", "del", net.hostInterface]);
  if (networkExists(net)) tryRun("ip", ["netns", "del", net.netns]);
}
