import { describe, expect, it } from "vitest";
import { cniConfig, containerdConfig, kubeletConfig, kubeProxyConfig, PAUSE_IMAGE } from "../../../src/controlplane/node/configs.ts";
import type { NodeDirs } from "../../../src/controlplane/node/configs.ts";
import { NODE_NETWORK } from "../../../src/controlplane/node/network.ts";

const node = "/tmp/keyward-node-test";
const dirs: NodeDirs = {
  containerdRoot: `${node}/containerd/root`,
  containerdState: `${node}/containerd/state`,
  containerdSocket: `${node}/containerd/containerd.sock`,
  cniConfDir: `${node}/cni/net.d`,
  cniBinDir: "/usr/lib/cni",
  cniDataDir: `${node}/cni/ipam`,
  kubeletRoot: `${node}/kubelet`,
  podLogs: `${node}/pod-logs`,
  resolvConf: `${node}/resolv.conf`,
};

/** Every absolute path in a config, other than the executables and plugins it names. */
function paths(text: string): string[] {
  return [...text.matchAll(/["'](\/[^"']+)["']/g)].map((m) => m[1]!).filter((p) => p !== "/usr/lib/cni" && p !== "/usr/sbin/runc");
}

describe("the node's configuration", () => {
  it("gives containerd only paths inside the node's directory, the local pause image, and restricted oom_score_adj", () => {
    const toml = containerdConfig(dirs, "/usr/sbin/runc");
    expect(paths(toml).length).toBeGreaterThan(5);
    expect(paths(toml).every((p) => p.startsWith(`${node}/`))).toBe(true);
    expect(toml).toContain("imports = []");
    expect(toml).toContain(`sandbox = '${PAUSE_IMAGE}'`);
    expect(toml).toMatch(/restrict_oom_score_adj = true/);
    expect(toml).toMatch(/SystemdCgroup = false/);
  });

  it("gives Pods routes to the Service CIDR and the node's link only: no default route, no masquerade", () => {
    const conf = JSON.parse(cniConfig(NODE_NETWORK, dirs)) as { plugins: { isDefaultGateway: boolean; ipMasq: boolean; ipam: { routes: { dst: string }[]; dataDir: string } }[] };
    const bridge = conf.plugins[0]!;
    expect(bridge.isDefaultGateway).toBe(false);
    expect(bridge.ipMasq).toBe(false);
    expect(bridge.ipam.routes.map((r) => r.dst)).toEqual([NODE_NETWORK.serviceCidr, NODE_NETWORK.linkCidr]);
    expect(bridge.ipam.dataDir.startsWith(`${node}/`)).toBe(true);
  });

  it("runs the kubelet on cgroupfs with cgroup v1 allowed, an empty resolv.conf, and its endpoints on the node's address", () => {
    const conf = JSON.parse(kubeletConfig(NODE_NETWORK, dirs, { caCert: `${node}/ca.crt`, servingCert: `${node}/k.crt`, servingKey: `${node}/k.key` })) as Record<string, unknown>;
    expect(conf).toMatchObject({
      cgroupDriver: "cgroupfs",
      failCgroupV1: false,
      resolvConf: dirs.resolvConf,
      address: NODE_NETWORK.nodeAddress,
      healthzBindAddress: NODE_NETWORK.nodeAddress,
      readOnlyPort: 0,
      authentication: { anonymous: { enabled: false } },
      authorization: { mode: "Webhook" },
      podLogsDir: dirs.podLogs,
    });
  });

  it("runs kube-proxy in nftables mode and leaves the machine's conntrack settings alone", () => {
    const conf = JSON.parse(kubeProxyConfig(NODE_NETWORK, `${node}/kube-proxy.kubeconfig`)) as Record<string, unknown>;
    expect(conf).toMatchObject({
      mode: "nftables",
      clusterCIDR: NODE_NETWORK.podCidr,
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    });
  });
});
