import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KubeConfigError, SERVICE_ACCOUNT_DIR, loadKubeConfig } from "../../src/kube/config.ts";

const dir = mkdtempSync(join(tmpdir(), "keyward-kubeconfig-test-"));
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

function kubeconfig(file: string, server: string, context = "main", extraContexts: string[] = []): string {
  const path = join(dir, file);
  const contexts = [context, ...extraContexts].map((c) => `- name: ${c}\n  context: {cluster: ${c}, user: u}`).join("\n");
  const clusters = [context, ...extraContexts].map((c) => `- name: ${c}\n  cluster: {server: "${server}/${c}"}`).join("\n");
  writeFileSync(path, `apiVersion: v1\nkind: Config\ncurrent-context: ${context}\nclusters:\n${clusters}\ncontexts:\n${contexts}\nusers:\n- name: u\n  user: {token: t}\n`);
  return path;
}

describe("loadKubeConfig", () => {
  it("uses an explicit path before KUBECONFIG", () => {
    const explicit = kubeconfig("explicit.yaml", "https://explicit.example:6443");
    const env = kubeconfig("env.yaml", "https://env.example:6443");
    const loaded = loadKubeConfig({ path: explicit, env: { KUBECONFIG: env } });
    expect(loaded.source).toBe("path");
    expect(loaded.server).toBe("https://explicit.example:6443/main");
  });

  it("uses KUBECONFIG, merging several files with the first file's context winning", () => {
    const first = kubeconfig("first.yaml", "https://first.example", "one");
    const second = kubeconfig("second.yaml", "https://second.example", "two");
    const loaded = loadKubeConfig({ env: { KUBECONFIG: [first, second].join(delimiter) } });
    expect(loaded.source).toBe("KUBECONFIG");
    expect(loaded.server).toBe("https://first.example/one");
    expect(loaded.kubeConfig.getContexts().map((c) => c.name)).toEqual(["one", "two"]);
  });

  it("switches to a named context, and names the contexts there are when it is missing", () => {
    const path = kubeconfig("multi.yaml", "https://multi.example", "a", ["b"]);
    expect(loadKubeConfig({ path, context: "b" }).server).toBe("https://multi.example/b");
    expect(() => loadKubeConfig({ path, context: "c" })).toThrow(/has no context "c" \(it has: a, b\)/);
  });

  it("falls back to the in-cluster service account", () => {
    const root = join(dir, "pod");
    mkdirSync(join(root, SERVICE_ACCOUNT_DIR), { recursive: true });
    writeFileSync(join(root, SERVICE_ACCOUNT_DIR, "token"), "sa-token");
    writeFileSync(join(root, SERVICE_ACCOUNT_DIR, "namespace"), "keyward-system");
    const loaded = loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }, inClusterRoot: root });
    expect(loaded.source).toBe("in-cluster");
    expect(loaded.server).toBe("https://10.96.0.1:443");
    expect(loaded.kubeConfig.getContextObject(loaded.kubeConfig.getCurrentContext())?.namespace).toBe("keyward-system");
  });

  it("brackets an IPv6 service host", () => {
    const root = join(dir, "pod6");
    mkdirSync(join(root, SERVICE_ACCOUNT_DIR), { recursive: true });
    writeFileSync(join(root, SERVICE_ACCOUNT_DIR, "token"), "sa-token");
    expect(loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" }, inClusterRoot: root }).server).toBe("https://[fd00::1]:443");
  });

  it("says what it tried when nothing is configured", () => {
    const err = (() => {
      try {
        loadKubeConfig({ env: {} });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as KubeConfigError).code).toBe("ERR_KUBE_CONFIG");
    expect((err as KubeConfigError).tried).toEqual([
      "no kubeconfig path given",
      "KUBECONFIG is not set",
      "not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)",
    ]);
    expect((err as Error).message).toContain("pass --kubeconfig, set KUBECONFIG");
  });

  it("names the missing token file when in a pod without a service account token", () => {
    expect(() => loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }, inClusterRoot: join(dir, "empty") })).toThrow(
      /serviceaccount\/token does not exist \(is automountServiceAccountToken false\?\)/,
    );
  });

  it("names a kubeconfig file that does not exist and where it came from", () => {
    expect(() => loadKubeConfig({ env: { KUBECONFIG: join(dir, "missing.yaml") } })).toThrow(/kubeconfig .*missing\.yaml \(from KUBECONFIG\) does not exist/);
    expect(() => loadKubeConfig({ path: join(dir, "nope.yaml") })).toThrow(/\(from the kubeconfig path given\) does not exist/);
  });

  it("refuses a kubeconfig whose current context has no cluster", () => {
    const path = join(dir, "nocluster.yaml");
    writeFileSync(path, "apiVersion: v1\nkind: Config\ncurrent-context: ''\nclusters: []\ncontexts: []\nusers: []\n");
    expect(() => loadKubeConfig({ path })).toThrow(/has no cluster for its current context/);
  });
});
