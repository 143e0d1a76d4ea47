import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const url = (path: string): string => new URL(path, import.meta.url).href;

/**
 * A fresh Node.js process (each test needs its own module graph): with the hook or
 * without it, it loads keyward's kubeconfig loader and client, sends one request
 * to a local API server stand-in, and prints what it loaded and what the server got.
 */
function runChild(lean: boolean): { generatedModules: number; dataModules: number; authorization: string; name: string } {
  const script = `
    import { createServer } from "node:http";
    import { registerHooks } from "node:module";
    import { mkdtempSync, writeFileSync } from "node:fs";
    import { tmpdir } from "node:os";
    import { join } from "node:path";
    if (process.argv[1] === "lean") (await import(${JSON.stringify(url("../../src/kube/lean-client-node.ts"))})).loadClientNodeLean();
    const loaded = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); loaded.push(r.url); return r; } });
    const { loadKubeConfig } = await import(${JSON.stringify(url("../../src/kube/config.ts"))});
    const { KubeClient } = await import(${JSON.stringify(url("../../src/kube/client.ts"))});
    const { Resources } = await import(${JSON.stringify(url("../../src/kube/resources.ts"))});
    let authorization = "";
    const server = createServer((req, res) => {
      authorization = req.headers.authorization ?? "";
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle", namespace: "acme" } }));
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    const file = join(mkdtempSync(join(tmpdir(), "keyward-lean-")), "kubeconfig");
    writeFileSync(file, "apiVersion: v1\\nkind: Config\\ncurrent-context: c\\nclusters:\\n- name: c\\n  cluster: {server: 'http://127.0.0.1:" + server.address().port + "', insecure-skip-tls-verify: true}\\ncontexts:\\n- name: c\\n  context: {cluster: c, user: u}\\nusers:\\n- name: u\\n  user: {token: secret-token}\\n");
    const client = new KubeClient({ kubeConfig: loadKubeConfig({ path: file }).kubeConfig });
    const got = await client.get(Resources.configMaps, { name: "keyward-bundle", namespace: "acme" });
    server.close();
    process.stdout.write(JSON.stringify({
      generatedModules: loaded.filter((u) => /client-node\\/dist\\/gen\\/(apis|models|types)\\//.test(u)).length,
      dataModules: loaded.filter((u) => u.startsWith("data:")).length,
      authorization,
      name: got.metadata.name,
    }));
    process.exit(0);
  `;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script, lean ? "lean" : "full"], { encoding: "utf8", timeout: 60_000 });
  if (child.status !== 0) throw new Error(`the child process failed (${String(child.status)}): ${child.stderr}`);
  return JSON.parse(child.stdout) as { generatedModules: number; dataModules: number; authorization: string; name: string };
}

describe("loadClientNodeLean", () => {
  it("loads none of client-node's generated API clients or models, and the client still authenticates and reads", () => {
    const lean = runChild(true);
    expect(lean.generatedModules).toBe(0);
    expect(lean.dataModules).toBe(1);
    expect(lean.authorization).toBe("Bearer secret-token");
    expect(lean.name).toBe("keyward-bundle");
  });

  it("is what keeps them out: without it the same imports load hundreds of generated modules", () => {
    const full = runChild(false);
    expect(full.generatedModules).toBeGreaterThan(500);
    expect(full.authorization).toBe("Bearer secret-token");
    expect(full.name).toBe("keyward-bundle");
  });
});
