// `keyward controller` as a process: flags, readiness and metrics endpoints, the
// work itself, and a graceful stop on SIGTERM that releases the Lease.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePorts } from "../../../src/controlplane/index.ts";
import { eventually, Kube, useNamespace, type KubeObject } from "../harness/index.ts";
import { apiKeyWhen, condition, controllerIdentity, isTrue, systemNamespaceFor } from "./support.ts";

const kube = Kube.fromTestRun();
const ns = useNamespace(kube, "ctl-command");
const main = fileURLToPath(new URL("../../../src/cli/main.ts", import.meta.url));
let dir = "";
let child: ChildProcess | undefined;
let output = "";
let metricsPort = 0;
let healthPort = 0;

beforeAll(async () => {
  const kc = await controllerIdentity(kube, ns.name);
  dir = mkdtempSync(join(tmpdir(), "keyward-command-"));
  const kubeconfig = join(dir, "controller.kubeconfig");
  writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });
  [metricsPort = 0, healthPort = 0] = await freePorts(2);
  const systemNamespace = await systemNamespaceFor(ns.name);
  child = spawn(
    process.execPath,
    [
      main,
      "controller",
      "--kubeconfig", kubeconfig,
      "--namespace", ns.name,
      "--system-namespace", systemNamespace,
      "--leader-elect",
      "--leader-election-namespace", ns.name,
      "--metrics-bind-address", `127.0.0.1:${metricsPort}`,
      "--health-probe-bind-address", `127.0.0.1:${healthPort}`,
    ],
    { env: { PATH: process.env.PATH ?? "", KEYWARD_ISSUER: "https://keyward.command.test", KEYWARD_LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
});

afterAll(() => {
  if (child?.exitCode === null) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("keyward controller, the process", () => {
  it("becomes ready, leads, and does its work under its own identity", async () => {
    await eventually("/readyz to answer 200", async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => null))?.status === 200);
    expect((await fetch(`http://127.0.0.1:${healthPort}/healthz`)).status).toBe(200);
    await kube.create({ apiVersion: "keyward.dev/v1alpha1", kind: "ApiKey", metadata: { name: "cli", namespace: ns.name }, spec: {} });
    await apiKeyWhen(kube, ns.name, "cli", (k) => isTrue(condition(k, "Ready")) && isTrue(condition(k, "Published")), "Ready");
    const bundle = await kube.get<KubeObject & { data: Record<string, string> }>({ apiVersion: "v1", kind: "ConfigMap", namespace: ns.name, name: "keyward-bundle" });
    expect(JSON.parse(bundle.data["bundle.json"] ?? "{}")).toEqual(expect.objectContaining({ issuer: "https://keyward.command.test" }));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^keyward_leader 1$/m);
    expect(metrics).toMatch(/^keyward_api_writes_total\{verb="create",resource="secrets"\} \d+$/m);
    expect(metrics).toContain("keyward_signing_keys_minted_total");
  });

  it("stops on SIGTERM with exit code 0, releasing the Lease", async () => {
    const exited = new Promise<number | null>((resolve) => child?.once("exit", (code) => { resolve(code); }));
    child?.kill("SIGTERM");
    expect(await exited).toBe(0);
    const lease = await kube.get<KubeObject & { spec: { holderIdentity?: string } }>({ apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace: ns.name, name: "keyward-controller" });
    expect(lease.spec.holderIdentity ?? "").toBe("");
    const lines = output.split("\n").filter((l) => l.startsWith("{"));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });
});
