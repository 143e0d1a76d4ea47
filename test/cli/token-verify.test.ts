import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeFixture, revocationSegment, T0, type Fixture } from "../verifier/support/fixture.ts";
import { run } from "./support.ts";

let fx: Fixture;
let dir: string;
let bundleFile: string;
const now = (): number => T0;

beforeAll(async () => {
  fx = await makeFixture();
  dir = await mkdtemp(join(tmpdir(), "keyward-token-verify-"));
  bundleFile = join(dir, "bundle.json");
  await writeFile(bundleFile, fx.bundleText({ generation: 12 }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("keyward token verify", () => {
  it("prints each step with ✓, the header and claims, and exits 0 for a valid token", async () => {
    const token = await fx.token({ jti: "dmFsaWQtdG9rZW4tMDE" });
    const r = await run(["token", "verify", "--bundle-file", bundleFile, "--method", "GET", "--path", "/api/v0/items", token], { now });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("generation 12");
    expect(r.stdout).toContain('"typ":"at+jwt"');
    expect(r.stdout).toContain('"jti":"dmFsaWQtdG9rZW4tMDE"');
    expect(r.stdout).toMatch(/^✓ /m);
    expect(r.stdout).not.toMatch(/^✗ /m);
    expect(r.stdout).toContain("valid: ApiKey reporting of tenant acme");
    expect(r.stdout).toContain("allowed by policy read rule 0");
  });

  it("never prints the token or its signature", async () => {
    const token = await fx.token();
    for (const args of [[token], ["--path", "/api/v0/admin/x", token], ["--now", "2030-01-01T00:00:00Z", token]]) {
      const r = await run(["token", "verify", "--bundle-file", bundleFile, ...args], { now });
      expect(r.stdout + r.stderr).not.toContain(token);
      expect(r.stdout + r.stderr).not.toContain(token.split(".")[2]!);
    }
  });

  it("marks the failing step with ✗ and its code, and exits 1", async () => {
    const token = await fx.token();
    const r = await run(["token", "verify", "--bundle-file", bundleFile, "--now", "2026-11-30T12:00:00Z", token], { now });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^✗ .*/m);
    expect(r.stdout).toContain("invalid: ERR_TOKEN_EXPIRED (HTTP 401)");
  });

  it("checks the access policies when given a path", async () => {
    const token = await fx.token();
    const denied = await run(["token", "verify", "--bundle-file", bundleFile, "--method", "DELETE", "--path", "/api/v0/items", token], { now });
    expect(denied.code).toBe(1);
    expect(denied.stdout).toContain("ERR_POLICY_DENIED (HTTP 403)");
    const unchecked = await run(["token", "verify", "--bundle-file", bundleFile, token], { now });
    expect(unchecked.code).toBe(0);
    expect(unchecked.stdout).toContain("the access policies were not checked");
  });

  it("reads the token from standard input with -", async () => {
    const r = await run(["token", "verify", "--bundle-file", bundleFile, "-"], { now, stdin: `${await fx.token()}\n` });
    expect(r.code).toBe(0);
  });

  it("reads the bundle from a mounted directory or a ConfigMap manifest", async () => {
    const manifest = join(dir, "cm.json");
    await writeFile(manifest, JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "keyward-bundle" }, data: { "bundle.json": fx.bundleText({ generation: 13 }) } }));
    const token = await fx.token();
    const fromDir = await run(["token", "verify", "--bundle-file", dir, token], { now });
    expect(fromDir.stdout).toContain("generation 12");
    const fromManifest = await run(["token", "verify", "--bundle-file", manifest, token], { now });
    expect(fromManifest.code).toBe(0);
    expect(fromManifest.stdout).toContain("generation 13");
  });

  it("checks a bundle naming revocation segments with every one of them, read as <name>.json from the bundle's directory", async () => {
    const segmented = join(dir, "segmented");
    await mkdir(segmented);
    const one = revocationSegment(1, ["aW4tc2VnbWVudC0x"]);
    await writeFile(join(segmented, "bundle.json"), fx.bundleText({ generation: 14, revokedSegments: [one.ref] }));
    await writeFile(join(segmented, `${one.name}.json`), one.text);
    const revoked = await run(["token", "verify", "--bundle-file", segmented, await fx.token({ jti: "aW4tc2VnbWVudC0x" })], { now });
    expect(revoked.code).toBe(1);
    expect(revoked.stdout).toContain("segments 1 read, 1 revocations in all");
    expect(revoked.stdout).toContain("ERR_TOKEN_REVOKED");
    expect((await run(["token", "verify", "--bundle-file", join(segmented, "bundle.json"), await fx.token()], { now })).code).toBe(0);
  });

  it("exits 2 naming the segment and where it was looked for when a segment the bundle names is missing or does not match", async () => {
    const segmented = join(dir, "incomplete");
    await mkdir(segmented);
    const two = revocationSegment(2, ["aW4tc2VnbWVudC0y"]);
    await writeFile(join(segmented, "bundle.json"), fx.bundleText({ generation: 15, revokedSegments: [two.ref] }));
    const missing = await run(["token", "verify", "--bundle-file", segmented, await fx.token()], { now });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("ERR_BUNDLE_SEGMENT_MISSING");
    expect(missing.stderr).toContain(`looked for ${join(segmented, `${two.name}.json`)}`);
    await writeFile(join(segmented, `${two.name}.json`), revocationSegment(2, ["b3RoZXI"]).text);
    const mismatch = await run(["token", "verify", "--bundle-file", segmented, await fx.token()], { now });
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain("ERR_BUNDLE_SEGMENT_DIGEST");
  });

  it("shows what it can of a malformed token", async () => {
    const r = await run(["token", "verify", "--bundle-file", bundleFile, "abc.def"], { now });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("(not JSON)");
    expect(r.stdout).toContain("ERR_TOKEN_MALFORMED");
  });

  it("exits 2 with a clear message on bad usage", async () => {
    const token = await fx.token();
    const cases: [string[], string][] = [
      [[token], "--bundle-file is required"],
      [["--bundle-file", join(dir, "missing.json"), token], "does not exist"],
      [["--bundle-file", bundleFile], "exactly one token"],
      [["--bundle-file", bundleFile, "--now", "yesterday", token], "--now must be an RFC 3339 time"],
      [["--bundle-file", bundleFile, "--method", "GET", token], "--method needs --path"],
      [["--bundle-file", bundleFile, "--path", "api", token], '--path must start with "/"'],
      [["--bundle-file", bundleFile, "--colour", token], "--colour"],
    ];
    for (const [args, message] of cases) {
      const r = await run(["token", "verify", ...args], { now });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  it("exits 2 when the bundle file is not a bundle", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ apiVersion: "keyward.dev/bundle/v1", tenant: "acme" }));
    const r = await run(["token", "verify", "--bundle-file", bad, await fx.token()], { now });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("ERR_BUNDLE_FIELD");
  });
});
