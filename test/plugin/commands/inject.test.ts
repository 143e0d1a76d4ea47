import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { injectPod, type PodLike } from "../../../src/injector/index.ts";
import { defaultImage } from "../../../src/plugin/commands/inject.ts";
import { run } from "../support.ts";

const TEMPLATE: PodLike = {
  metadata: { labels: { app: "web" }, annotations: { "keyward.dev/upstream-port": "3000" } },
  spec: { containers: [{ name: "app", image: "web:1", ports: [{ containerPort: 3000 }] }] },
};
const DEPLOYMENT = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "acme" }, spec: { selector: { matchLabels: { app: "web" } }, template: TEMPLATE } };
const SERVICE = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "acme" }, spec: { ports: [{ port: 80, targetPort: "keyward" }] } };

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "keyward-inject-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, docs: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, docs.map((d) => stringify(d)).join("---\n"));
  return path;
}

describe("kubectl keyward inject", () => {
  it("prints the manifests with the Pod template the webhook would produce, other objects unchanged", async () => {
    const r = await run(["inject", "-f", file("app.yaml", [DEPLOYMENT, SERVICE])]);
    expect(r.code).toBe(0);
    const [deployment, service] = parseAllDocuments(r.stdout).map((d) => d.toJSON() as { spec: { template: PodLike } });
    const webhook = injectPod(TEMPLATE, { image: defaultImage(), what: "x" });
    if (webhook.kind !== "injected") throw new Error("not injected");
    expect(deployment!.spec.template).toEqual(webhook.pod);
    expect(service).toEqual(SERVICE);
  });

  it("injects the image given with --image, the keyward image of this version by default", async () => {
    const r = await run(["inject", "-f", file("app.yaml", [DEPLOYMENT]), "--image", "reg.example/keyward:9"]);
    expect(r.stdout).toContain("image: reg.example/keyward:9");
    expect(defaultImage()).toMatch(/^ghcr\.io\/keyward\/keyward:\d+\.\d+\.\d+/);
  });

  it("refuses a bad annotation naming the file, the workload and the annotation, and prints nothing", async () => {
    const bad = { ...DEPLOYMENT, spec: { ...DEPLOYMENT.spec, template: { ...TEMPLATE, metadata: { annotations: { "keyward.dev/mode": "mesh" } } } } };
    const path = file("bad.yaml", [bad]);
    const r = await run(["inject", "-f", path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`error: ${path}: Deployment acme/web: annotation keyward.dev/mode: "mesh" is not one of proxy, authz; fix the annotation or remove it for the default\n`);
  });

  it("needs -f, and says so", async () => {
    const r = await run(["inject"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("needs the manifests: -f FILE");
    expect((await run(["inject", "-f", join(dir, "missing.yaml")])).stderr).toContain("cannot read -f");
  });
});
