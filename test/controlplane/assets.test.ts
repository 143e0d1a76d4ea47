import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveAssets } from "../../src/controlplane/assets.ts";
import { installCrds, REPO_ROOT } from "../../src/controlplane/index.ts";
import { startControlPlane } from "../../src/controlplane/controlplane.ts";

function executables(dir: string, names: string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    writeFileSync(join(dir, name), "#!/bin/sh\n");
    chmodSync(join(dir, name), 0o755);
  }
}

describe("resolving the control plane's assets", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "keyward-assets-test-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("uses the cluster of KEYWARD_TEST_KUBECONFIG and starts nothing, whatever else is set", async () => {
    writeFileSync(join(dir, "kubeconfig"), "apiVersion: v1\n");
    const assets = await resolveAssets({ env: { KEYWARD_TEST_KUBECONFIG: join(dir, "kubeconfig"), KEYWARD_TEST_ASSETS: join(dir, "nowhere") } });
    expect(assets).toEqual({ kind: "kubeconfig", path: join(dir, "kubeconfig") });
  });

  it("names KEYWARD_TEST_KUBECONFIG when it points at no file", async () => {
    await expect(resolveAssets({ env: { KEYWARD_TEST_KUBECONFIG: join(dir, "absent") } })).rejects.toThrow(
      /KEYWARD_TEST_KUBECONFIG: .*absent is not a file/,
    );
  });

  it("takes the binaries from KEYWARD_TEST_ASSETS when all three are there", async () => {
    executables(join(dir, "bin"), ["etcd", "kube-apiserver", "kube-controller-manager"]);
    await expect(resolveAssets({ env: { KEYWARD_TEST_ASSETS: join(dir, "bin") } })).resolves.toEqual({ kind: "binaries", dir: join(dir, "bin") });
  });

  it("names the binaries missing from KEYWARD_TEST_ASSETS", async () => {
    executables(join(dir, "bin"), ["etcd"]);
    await expect(resolveAssets({ env: { KEYWARD_TEST_ASSETS: join(dir, "bin") } })).rejects.toThrow(
      "KEYWARD_TEST_ASSETS: " + join(dir, "bin") + " lacks the executable(s) kube-apiserver, kube-controller-manager",
    );
  });

  it("otherwise runs the build script, relays its progress and takes the directory from its last line", async () => {
    executables(join(dir, "bin"), ["etcd", "kube-apiserver", "kube-controller-manager"]);
    const script = join(dir, "build.sh");
    writeFileSync(script, `echo "[build] compiling" >&2\necho "noise"\necho "${join(dir, "bin")}"\n`);
    const lines: string[] = [];
    const assets = await resolveAssets({ env: { PATH: process.env.PATH }, buildScript: script, log: (l) => lines.push(l) });
    expect(assets).toEqual({ kind: "binaries", dir: join(dir, "bin") });
    expect(lines).toEqual(["[build] compiling"]);
  });

  it("reports a failed build with the end of its output", async () => {
    const script = join(dir, "build.sh");
    writeFileSync(script, `echo "go: module k8s.io/kubernetes: not found" >&2\nexit 3\n`);
    await expect(resolveAssets({ env: { PATH: process.env.PATH }, buildScript: script })).rejects.toThrow(
      /failed \(exit 3\):\ngo: module k8s.io\/kubernetes: not found/,
    );
  });

  it("refuses to start a control plane from an incomplete directory and names what is missing", async () => {
    executables(join(dir, "bin"), ["kube-apiserver"]);
    await expect(startControlPlane({ assetsDir: join(dir, "bin"), workDir: dir })).rejects.toThrow(/lacks the executable\(s\) etcd, kube-controller-manager/);
  });

  it("refuses to install a CRD directory holding anything but CustomResourceDefinitions, naming the file", async () => {
    writeFileSync(join(dir, "kubeconfig"), "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n");
    mkdirSync(join(dir, "crds"));
    writeFileSync(join(dir, "crds", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
    await expect(installCrds(join(dir, "kubeconfig"), join(dir, "crds"))).rejects.toThrow(/cm\.yaml: holds a ConfigMap \(v1\)/);
  });

  it("locates the repository root from its own source file", () => {
    expect(REPO_ROOT.endsWith("/")).toBe(true);
    expect(join(REPO_ROOT, "hack", "test-binaries.sh")).toMatch(/hack\/test-binaries\.sh$/);
  });
});
