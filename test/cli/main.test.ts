import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { run } from "./support.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** Every module URL a `keyward <args>` process resolved (a resolve hook loaded before main.ts writes them out at exit). */
function modulesLoadedBy(args: string[]): string[] {
  const recorder = `data:text/javascript,${encodeURIComponent(`
    import { registerHooks } from "node:module";
    const urls = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.push(r.url); return r; } });
    process.on("exit", () => { process.stderr.write("\\nMODULES " + JSON.stringify(urls) + "\\n"); });
  `)}`;
  const child = spawnSync(process.execPath, ["--import", recorder, MAIN, ...args], { encoding: "utf8", timeout: 60_000 });
  const line = child.stderr.split("\n").find((l) => l.startsWith("MODULES "));
  if (child.status !== 0 || line === undefined) throw new Error(`keyward ${args.join(" ")} failed (${String(child.status)}): ${child.stderr}`);
  return JSON.parse(line.slice("MODULES ".length)) as string[];
}

describe("keyward", () => {
  it("lists its commands with --help and exits 0", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("verifier");
    expect(r.stdout).toContain("token verify");
  });

  it("prints the usage and exits 2 without a command", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: keyward <command>");
  });

  it("names an unknown command and exits 2", async () => {
    const r = await run(["verfier"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "verfier"');
  });

  it("lists the subcommands of a group given alone", async () => {
    const r = await run(["token"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("token verify");
    expect((await run(["token", "--help"])).code).toBe(0);
    expect((await run(["token", "inspect"])).stderr).toContain('unknown command "token inspect"');
  });

  it("loads the code of the command it runs only: the controller no gRPC, the verifier no reconciler, neither client-node's generated clients", () => {
    const controller = modulesLoadedBy(["controller", "--help"]);
    expect(controller.some((u) => u.includes("/src/controller/"))).toBe(true);
    expect(controller.filter((u) => u.includes("/@grpc/") || u.includes("/src/verifier/"))).toEqual([]);
    expect(controller.filter((u) => u.includes("/client-node/dist/gen/apis/") || u.includes("/client-node/dist/gen/models/"))).toEqual([]);
    const verifier = modulesLoadedBy(["verifier", "--help"]);
    expect(verifier.some((u) => u.includes("/src/verifier/"))).toBe(true);
    expect(verifier.filter((u) => u.includes("/src/controller/"))).toEqual([]);
    expect(verifier.filter((u) => u.includes("/client-node/dist/gen/apis/") || u.includes("/client-node/dist/gen/models/"))).toEqual([]);
  });
});
