// The node's configuration files, as pure functions of its directories and network:
// containerd's config.toml, the CNI network list, the kubelet's and kube-proxy's
// configuration. Every path points into the node's own directory, so a node writes
// nothing under /var/lib, /etc, /opt or /run/containerd of the machine.
import type { NodeNetwork } from "./network.ts";

/** The node's name: the Node object's and the kubelet's --hostname-override. */
export const NODE_NAME = "keyward-node";
/** The sandbox ("pause") image, loaded from a local archive; never pulled. */
export const PAUSE_IMAGE = "keyward.local/pause:1";

export interface NodeDirs {
  /** containerd's metadata, content and snapshots. */
  containerdRoot: string;
  /** containerd's state: sockets, runc state, Pod network namespaces. */
  containerdState: string;
  containerdSocket: string;
  cniConfDir: string;
  /** Where the CNI plugins are installed (Debian: /usr/lib/cni). */
  cniBinDir: string;
  /** host-local's leases. */
  cniDataDir: string;
  kubeletRoot: string;
  podLogs: string;
  /** An empty resolv.conf: Pods get no name server at all. */
  resolvConf: string;
}

function tomlString(value: string): string {
  return `'${value.replace(/'/g, "")}'`;
}

export function containerdConfig(dirs: NodeDirs, runc: string): string {
  const s = tomlString;
  return `# containerd of the keyward local node: every path is the node's own.
version = 4
root = ${s(dirs.containerdRoot)}
state = ${s(dirs.containerdState)}
temp = ${s(`${dirs.containerdState}/tmp`)}
imports = []
# Plugins that would touch paths outside the node's directories, or need what this node lacks.
disabled_plugins = [
  'io.containerd.nri.v1.nri',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.snapshotter.v1.blockfile',
  'io.containerd.snapshotter.v1.erofs',
  'io.containerd.differ.v1.erofs',
  'io.containerd.image-verifier.v1.bindir',
]

[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = ${s(dirs.containerdSocket)}
  [plugins.'io.containerd.server.v1.ttrpc']
    address = ${s(`${dirs.containerdSocket}.ttrpc`)}
  [plugins.'io.containerd.internal.v1.opt']
    path = ${s(`${dirs.containerdRoot}/opt`)}
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ${s(PAUSE_IMAGE)}
  [plugins.'io.containerd.cri.v1.runtime']
    # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails to start
    # (runc cannot lower its own oom_score_adj).
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    cdi_spec_dirs = []
    enable_criu = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = ${s(runc)}
        Root = ${s(`${dirs.containerdState}/runc`)}
        SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [${s(dirs.cniBinDir)}]
      conf_dir = ${s(dirs.cniConfDir)}
  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
`;
}

/**
 * One bridge for the node's Pods, host-local addresses, and routes only to the
 * Service CIDR and the node's link (where the API server is): no default route.
 */
export function cniConfig(net: NodeNetwork, dirs: NodeDirs): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "keyward",
      plugins: [
        {
          type: "bridge",
          bridge: net.bridge,
          isGateway: true,
          isDefaultGateway: false,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            dataDir: dirs.cniDataDir,
            ranges: [[{ subnet: net.podCidr }]],
            routes: [{ dst: net.serviceCidr }, { dst: net.linkCidr }],
          },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

export interface KubeletFiles {
  caCert: string;
  servingCert: string;
  servingKey: string;
}

export function kubeletConfig(net: NodeNetwork, dirs: NodeDirs, files: KubeletFiles): string {
  return `${JSON.stringify(
    {
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      // No systemd on these hosts; cgroup v1 (hybrid) must be allowed explicitly.
      cgroupDriver: "cgroupfs",
      failCgroupV1: false,
      failSwapOn: false,
      containerRuntimeEndpoint: `unix://${dirs.containerdSocket}`,
      address: net.nodeAddress,
      port: 10250,
      readOnlyPort: 0,
      healthzBindAddress: net.nodeAddress,
      healthzPort: 10248,
      tlsCertFile: files.servingCert,
      tlsPrivateKeyFile: files.servingKey,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: files.caCert } },
      authorization: { mode: "Webhook" },
      resolvConf: dirs.resolvConf,
      clusterDomain: "cluster.local",
      podCIDR: net.podCidr,
      podLogsDir: dirs.podLogs,
      registerNode: true,
      serializeImagePulls: false,
      // Images are loaded from local archives: garbage collection must never drop them.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
      // Quick to notice a container that died (the failure tests), still cheap.
      syncFrequency: "10s",
      nodeStatusUpdateFrequency: "5s",
      shutdownGracePeriod: "0s",
    },
    null,
    2,
  )}\n`;
}

export function kubeProxyConfig(net: NodeNetwork, kubeconfig: string): string {
  return `${JSON.stringify(
    {
      apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
      kind: "KubeProxyConfiguration",
      mode: "nftables",
      clientConnection: { kubeconfig },
      hostnameOverride: NODE_NAME,
      bindAddress: net.nodeAddress,
      clusterCIDR: net.podCidr,
      healthzBindAddress: `${net.nodeAddress}:10256`,
      metricsBindAddress: `${net.nodeAddress}:10249`,
      nodePortAddresses: [`${net.nodeAddress}/32`],
      // Pod to Service to a Pod on the same bridge needs the reply to come back through
      // the node; the masquerade address is the bridge's, inside the node's namespace.
      masqueradeAll: true,
      // The conntrack table's sizes and timeouts are the machine's, not the node's: left alone.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s", udpTimeout: "0s", udpStreamTimeout: "0s" },
    },
    null,
    2,
  )}\n`;
}
